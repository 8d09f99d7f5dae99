//! Rewrites the generated sections of the README, between `<!-- report:NAME -->` and `<!-- /report:NAME -->`.

/// Replace the text between the markers of section `name` in `readme` with `body`.
/// Returns `None` when the markers are missing.
pub fn replace_section(readme: &str, name: &str, body: &str) -> Option<String> {
    let open = format!("<!-- report:{name} -->");
    let close = format!("<!-- /report:{name} -->");
    let start = readme.find(&open)? + open.len();
    let end = start + readme[start..].find(&close)?;
    Some(format!("{}\n{}{}", &readme[..start], body, &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_between_markers() {
        let text = "a\n<!-- report:x -->\nold\n<!-- /report:x -->\nb\n";
        assert_eq!(replace_section(text, "x", "new\n").unwrap(), "a\n<!-- report:x -->\nnew\n<!-- /report:x -->\nb\n");
        assert_eq!(replace_section(text, "y", "new"), None);
    }
}
