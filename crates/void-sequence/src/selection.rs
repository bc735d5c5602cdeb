//! `--seqs`: which sequences of a data root to run (the reference's `experiment.run_seqs`).

use std::str::FromStr;

use crate::{Error, Result};

/// A choice of sequences among a root's sorted sequence folders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every sequence (the default; an empty `--seqs`).
    #[default]
    All,
    /// These names (`a,b,c`); each must exist.
    Names(Vec<String>),
    /// Part `index` (1-based) of `of` near-equal consecutive parts (`2/4`), for splitting a
    /// batch across machines. Unlike the reference, which drops the remainder of the division,
    /// every sequence lands in exactly one part.
    Part {
        /// Which part, from 1.
        index: usize,
        /// How many parts.
        of: usize,
    },
}

impl Selection {
    /// Applies the selection to the sorted names of a root's sequences.
    pub(crate) fn pick(&self, all: &[String]) -> std::result::Result<Vec<String>, Vec<String>> {
        match self {
            Self::All => Ok(all.to_vec()),
            Self::Names(names) => {
                let missing: Vec<String> =
                    names.iter().filter(|n| !all.contains(n)).cloned().collect();
                if missing.is_empty() {
                    Ok(names.clone())
                } else {
                    Err(missing)
                }
            }
            Self::Part { index, of } => {
                let (start, end) = ((index - 1) * all.len() / of, index * all.len() / of);
                Ok(all[start..end].to_vec())
            }
        }
    }
}

impl FromStr for Selection {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let refuse = |reason| Error::Selection {
            given: s.to_string(),
            reason,
        };
        let s = s.trim();
        if s.is_empty() {
            return Ok(Self::All);
        }
        if let Some((i, n)) = s.split_once('/') {
            let (index, of) = match (i.trim().parse::<usize>(), n.trim().parse::<usize>()) {
                (Ok(i), Ok(n)) => (i, n),
                _ => return Err(refuse("expected PART/PARTS, e.g. 2/4")),
            };
            if of == 0 || index == 0 || index > of {
                return Err(refuse("PART must be between 1 and PARTS"));
            }
            return Ok(Self::Part { index, of });
        }
        let names: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect();
        if names.is_empty() {
            Ok(Self::All)
        } else {
            Ok(Self::Names(names))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_lists_and_parts() {
        assert_eq!("".parse::<Selection>().unwrap(), Selection::All);
        assert_eq!(
            "a, b".parse::<Selection>().unwrap(),
            Selection::Names(names(&["a", "b"]))
        );
        assert_eq!(
            "2/4".parse::<Selection>().unwrap(),
            Selection::Part { index: 2, of: 4 }
        );
        for bad in ["0/4", "5/4", "x/2", "1/0"] {
            assert!(bad.parse::<Selection>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parts_cover_everything_once() {
        let all = names(&["a", "b", "c", "d", "e"]);
        let mut seen = Vec::new();
        for index in 1..=3 {
            seen.extend(Selection::Part { index, of: 3 }.pick(&all).unwrap());
        }
        assert_eq!(seen, all);
        assert_eq!(
            Selection::Names(names(&["c", "x"])).pick(&all),
            Err(names(&["x"]))
        );
    }
}
