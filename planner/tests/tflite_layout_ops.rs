//! The load-time checks of the layout operators (TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, RESIZE_NEAREST_NEIGHBOR)
//! on zoo models whose constant inputs are edited in the file: each edit that breaks the operator's geometry is
//! refused at load with an error naming the operator, and the unedited file loads.

use arenaplan_planner::tflite::{read_model, ReadError};

/// The model bytes, and the byte offset in them of the data of the `k`-th input of operator `op`.
fn constant_offset(name: &str, op: usize, k: usize) -> (Vec<u8>, usize) {
    let bytes = arenaplan_datasets::model_bytes(name).unwrap();
    let model = read_model(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let t = model.operators[op].inputs[k].expect("input present");
    let data = model.tensors[t].data.expect("a constant input");
    let offset = data.as_ptr() as usize - bytes.as_ptr() as usize;
    (bytes.clone(), offset)
}

/// Replace the int32 values at `offset` and read the file again.
fn edited(mut bytes: Vec<u8>, offset: usize, values: &[i32]) -> Result<(), ReadError> {
    for (i, v) in values.iter().enumerate() {
        bytes[offset + 4 * i..offset + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    read_model(&bytes).map(|_| ())
}

fn assert_refused(result: Result<(), ReadError>, op: &str, words: &str) {
    match result {
        Err(e @ ReadError::ShapeMismatch { .. }) => {
            let text = e.to_string();
            assert!(text.contains(op) && text.contains(words), "{text}");
        }
        other => panic!("expected a shape error naming {op}, got {other:?}"),
    }
}

#[test]
fn transpose_needs_a_permutation_that_gives_the_output_shape() {
    let (bytes, at) = constant_offset("op_transpose", 0, 1);
    assert!(edited(bytes.clone(), at, &[0, 3, 1, 2]).is_ok());
    assert_refused(edited(bytes.clone(), at, &[0, 3, 1, 1]), "TRANSPOSE", "not a permutation");
    assert_refused(edited(bytes, at, &[0, 1, 2, 3]), "TRANSPOSE", "output tensor");
}

#[test]
fn strided_slice_refuses_a_zero_stride_and_a_box_of_another_shape() {
    // x[:, 1:8:2, ::3, 2:] on [1, 9, 8, 6]: strides [1, 2, 3, 1].
    let (bytes, at) = constant_offset("op_strided_slice", 0, 3);
    assert!(edited(bytes.clone(), at, &[1, 2, 3, 1]).is_ok());
    assert_refused(edited(bytes.clone(), at, &[1, 0, 3, 1]), "STRIDED_SLICE", "stride 0");
    assert_refused(edited(bytes, at, &[1, 1, 3, 1]), "STRIDED_SLICE", "output tensor");
}

#[test]
fn slice_refuses_a_box_past_the_input() {
    // begin [0, 2, 1, 1], size [1, 4, 3, 3] on [1, 7, 6, 5].
    let (bytes, at) = constant_offset("op_slice", 0, 1);
    assert!(edited(bytes.clone(), at, &[0, 2, 1, 1]).is_ok());
    assert_refused(edited(bytes, at, &[0, 5, 1, 1]), "SLICE", "begin 5 size 4");
}

#[test]
fn split_refuses_an_axis_its_outputs_do_not_fit() {
    let (bytes, at) = constant_offset("op_split", 0, 0);
    assert!(edited(bytes.clone(), at, &[3]).is_ok());
    assert!(edited(bytes.clone(), at, &[-1]).is_ok(), "a negative axis counts from the end");
    assert_refused(edited(bytes.clone(), at, &[2]), "SPLIT", "does not fit");
    assert_refused(edited(bytes, at, &[4]), "SPLIT", "axis");
}

#[test]
fn resize_nearest_neighbor_output_must_have_the_requested_size() {
    let (bytes, at) = constant_offset("op_resize_nearest", 0, 1);
    assert!(edited(bytes.clone(), at, &[10, 12]).is_ok());
    assert_refused(edited(bytes.clone(), at, &[10, 13]), "RESIZE_NEAREST_NEIGHBOR", "output tensor");
    assert_refused(edited(bytes, at, &[0, 12]), "RESIZE_NEAREST_NEIGHBOR", "two positive values");
}
