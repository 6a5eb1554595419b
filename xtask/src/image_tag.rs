//! `cargo xtask image-tag`: the one edit the image pipeline makes to platform.toml. It sets
//! `platform.image_tag` through toml_edit (comments and layout kept) and validates the result
//! with the model before writing, instead of a `sed` over the file's text.

use anyhow::{Context as _, bail};

use crate::model::Platform;

#[derive(Debug, clap::Args)]
pub struct ImageTag {
    /// The tag every service image is deployed with: the commit the images were built from.
    pub tag: String,
}

pub fn run(args: &ImageTag) -> anyhow::Result<()> {
    let path = crate::root().join("platform.toml");
    let source = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let updated = set_image_tag(&source, &args.tag)?;
    if updated != source {
        std::fs::write(&path, updated)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "platform.image_tag = {:?}; run `cargo xtask render` to deploy it",
        args.tag
    );
    Ok(())
}

/// platform.toml's text with `platform.image_tag` set to `tag`; refuses a tag no registry takes
/// and any result the model rejects, changing nothing.
pub fn set_image_tag(source: &str, tag: &str) -> anyhow::Result<String> {
    let valid = tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        bail!(
            "invalid image tag {tag:?}: use up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-` (e.g. a commit SHA)"
        );
    }
    let mut doc: toml_edit::DocumentMut = source.parse().context("platform.toml is not TOML")?;
    let platform = doc
        .get_mut("platform")
        .and_then(|p| p.as_table_like_mut())
        .context("platform.toml has no [platform] table")?;
    match platform
        .get_mut("image_tag")
        .and_then(|item| item.as_value_mut())
    {
        // The value only: its comment and spacing stay.
        Some(current) => {
            let decor = current.decor().clone();
            *current = tag.into();
            *current.decor_mut() = decor;
        }
        None => {
            platform.insert("image_tag", toml_edit::value(tag));
        }
    }
    let text = doc.to_string();
    Platform::parse("platform.toml", &text).map_err(|_| {
        anyhow::anyhow!("platform.toml is invalid; fix it first (`cargo xtask check` shows where)")
    })?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::set_image_tag;

    fn platform() -> String {
        std::fs::read_to_string(crate::root().join("platform.toml")).unwrap()
    }

    #[test]
    fn sets_the_tag_and_keeps_everything_else() {
        let source = platform();
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let updated = set_image_tag(&source, sha).unwrap();
        let parsed = crate::model::Platform::parse("platform.toml", &updated).unwrap();
        assert_eq!(parsed.image_tag, sha);
        let changed: Vec<(&str, &str)> = source
            .lines()
            .zip(updated.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(changed.len(), 1, "one line changes: {changed:?}");
        let (before, after) = changed[0];
        let old = format!(
            "{:?}",
            crate::model::Platform::parse("platform.toml", &source)
                .unwrap()
                .image_tag
        );
        assert_eq!(
            after,
            before.replace(&old, &format!("{sha:?}")),
            "only the value changes"
        );
        assert_eq!(source.lines().count(), updated.lines().count());
    }

    #[test]
    fn refuses_a_tag_no_registry_takes() {
        for bad in ["", "-rc1", "a tag", "tag:latest", &"x".repeat(129)] {
            let error = set_image_tag(&platform(), bad).unwrap_err().to_string();
            assert!(error.contains("invalid image tag"), "{bad:?}: {error}");
        }
    }
}
