//! Errors that point into platform.toml: `file:line:column`, what is wrong, and what to write
//! instead, with the offending line quoted.

use std::fmt;
use std::ops::Range;

/// One problem found in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file, printable as a compiler-style report.
#[derive(Debug, Clone)]
pub struct Report {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let (line, column) = line_col(&self.source, d.span.start);
            writeln!(f, "{}:{line}:{column}: error: {}", self.file, d.message)?;
            if let Some(text) = self.source.lines().nth(line - 1) {
                let width = line.to_string().len();
                let underline = self.source[d.span.clone()]
                    .lines()
                    .next()
                    .map_or(1, |s| s.chars().count().max(1));
                writeln!(f, "{:width$} |", "")?;
                writeln!(f, "{line} | {text}")?;
                writeln!(
                    f,
                    "{:width$} | {}{}",
                    "",
                    " ".repeat(column - 1),
                    "^".repeat(underline)
                )?;
            }
            if let Some(help) = &d.help {
                writeln!(f, "  = help: {help}")?;
            }
        }
        if self.diagnostics.len() > 1 {
            write!(f, "{} errors in {}", self.diagnostics.len(), self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}

/// The closest candidate to `word` (for "did you mean"), if any is close enough: at most a third
/// of the longer word's characters differ (adjacent transpositions count once).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 11), (2, 6));
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(closest("prodcut", ["product", "order"]), Some("product"));
        assert_eq!(closest("zzz", ["product", "order"]), None);
    }
}
