//! TFLite's integer requantisation arithmetic, reproduced exactly: a saturating rounding doubling high
//! multiply followed by a rounding right shift.

/// `(a * b * 2) >> 32`, rounded to nearest, saturating the one overflowing case (`i32::MIN * i32::MIN`).
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as in the reference.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent`, rounded to nearest with ties away from zero. A compiled program's exponents are in
/// `0..=31`; one outside (only a corrupted program carries it) is clamped there instead of overflowing.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x * multiplier * 2^shift` with `multiplier` a Q31 fraction: TFLite's `MultiplyByQuantizedMultiplier`.
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    // A compiled program's shifts are in -31..=31; others (a corrupted program) are clamped, never overflow.
    let left = shift.clamp(0, 31);
    let right = shift.saturating_neg().clamp(0, 31);
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier), right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_divide_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 -> 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 -> -3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 -> 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(9, 0), 9);
    }

    #[test]
    fn high_mul_doubles_and_rounds() {
        // 2^30 is 0.5 in Q31: x * 0.5.
        assert_eq!(saturating_rounding_doubling_high_mul(100, 1 << 30), 50);
        // 50.5 rounds up.
        assert_eq!(saturating_rounding_doubling_high_mul(101, 1 << 30), 51);
        // The nudge for negative products is 1 - 2^30, not -2^30: -50.5 becomes -50 and -51.5 becomes -51 (ties
        // go up here, unlike in rounding_divide_by_pot).
        assert_eq!(saturating_rounding_doubling_high_mul(-101, 1 << 30), -50);
        assert_eq!(saturating_rounding_doubling_high_mul(-103, 1 << 30), -51);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
    }

    #[test]
    fn shifts_out_of_range_are_clamped_not_overflowed() {
        for shift in [i32::MIN, -1000, -32, 32, 1000, i32::MAX] {
            let clamped = shift.clamp(-31, 31);
            assert_eq!(
                multiply_by_quantized_multiplier(1000, 3 << 29, shift),
                multiply_by_quantized_multiplier(1000, 3 << 29, clamped)
            );
        }
        assert_eq!(rounding_divide_by_pot(-7, 99), rounding_divide_by_pot(-7, 31));
        assert_eq!(rounding_divide_by_pot(-7, -5), -7);
    }

    #[test]
    fn quantized_multiplier_scales() {
        // 0.75 = (3 << 29) in Q31; times 2^-2 = 0.1875.
        assert_eq!(multiply_by_quantized_multiplier(1000, 3 << 29, -2), 188); // 187.5 -> 188
        assert_eq!(multiply_by_quantized_multiplier(1000, 3 << 29, 1), 1500);
    }
}
