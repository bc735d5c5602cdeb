//! Added tokens as transformers' slow tokenizers handle them (tokenization_utils.py, 4.57.1):
//! `Trie.split` cuts them out of the text, then `PreTrainedTokenizer.tokenize` strips the
//! whitespace next to them according to their flags.

use std::collections::HashMap;

/// An added token (transformers' `AddedToken`), with the fields slow tokenisation reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddedToken {
    /// The token's text.
    pub content: String,
    /// Eats the whitespace on its left.
    pub lstrip: bool,
    /// Eats the whitespace on its right.
    pub rstrip: bool,
    /// Only matches a whole word.
    pub single_word: bool,
    /// A special token.
    pub special: bool,
}

impl AddedToken {
    /// A token with all flags off but `special`.
    pub fn plain(content: &str, special: bool) -> Self {
        Self {
            content: content.to_string(),
            lstrip: false,
            rstrip: false,
            single_word: false,
            special,
        }
    }
}

/// `str.isspace()` of Python: Unicode White_Space plus the ASCII separators U+001C..U+001F.
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.lstrip()`.
pub(crate) fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(py_isspace)
}

/// `str.rstrip()`.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_isspace)
}

/// transformers' `Trie`: the added tokens, by character.
#[derive(Clone, Debug)]
pub(crate) struct SplitTrie {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    children: HashMap<char, usize>,
    /// A token ends here (the `""` key of the Python dict).
    terminal: bool,
}

impl Default for SplitTrie {
    fn default() -> Self {
        Self {
            nodes: vec![Node::default()],
        }
    }
}

impl SplitTrie {
    const ROOT: usize = 0;

    /// Adds `word` (`Trie.add`; the empty string is ignored).
    pub fn add(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        let mut node = Self::ROOT;
        for c in word.chars() {
            node = match self.child(node, c) {
                Some(next) => next,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].children.insert(c, next);
                    next
                }
            };
        }
        self.nodes[node].terminal = true;
    }

    fn child(&self, node: usize, c: char) -> Option<usize> {
        self.nodes[node].children.get(&c).copied()
    }

    fn terminal(&self, node: usize) -> bool {
        self.nodes[node].terminal
    }

    /// `Trie.split`: `text` cut before and after every added token found, scanning left to
    /// right, each match extended to the longest token with the lookahead the Python code
    /// uses (including its treatment of earlier partial matches).
    pub fn split<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let n = chars.len();
        // Partial matches: (start, node), in insertion (= start) order.
        let mut states: Vec<(usize, usize)> = Vec::new();
        let mut offsets = vec![0usize];
        let mut skip = 0usize;

        for (current, &(_, current_char)) in chars.iter().enumerate() {
            if skip != 0 && current < skip {
                continue;
            }
            let mut to_remove = Vec::new();
            let mut reset = false;
            for idx in 0..states.len() {
                let (state_start, pointer) = states[idx];
                if self.terminal(pointer) {
                    // A match ends here: look ahead for the longest one, earlier starts first.
                    let mut start = state_start;
                    let mut end = current;
                    for &(lookstart, pointer) in &states {
                        let mut look = pointer;
                        let mut lookahead_index;
                        if lookstart > start {
                            break;
                        } else if lookstart < start {
                            lookahead_index = current + 1;
                            end = current + 1;
                        } else {
                            lookahead_index = current;
                            end = current;
                        }
                        let mut next_char = chars.get(lookahead_index).map(|&(_, c)| c);
                        if self.terminal(look) {
                            start = lookstart;
                            end = lookahead_index;
                            skip = lookahead_index;
                        }
                        while let Some(c) = next_char
                            && let Some(next) = self.child(look, c)
                        {
                            look = next;
                            lookahead_index += 1;
                            if self.terminal(look) {
                                start = lookstart;
                                end = lookahead_index;
                                skip = lookahead_index;
                            }
                            if lookahead_index == n {
                                break;
                            }
                            next_char = Some(chars[lookahead_index].1);
                        }
                    }
                    offsets.push(start);
                    offsets.push(end);
                    reset = true;
                    break;
                } else if let Some(next) = self.child(pointer, current_char) {
                    states[idx].1 = next;
                } else {
                    to_remove.push(state_start);
                }
            }
            if reset {
                states.clear();
            } else {
                states.retain(|(start, _)| !to_remove.contains(start));
            }
            if current >= skip
                && let Some(next) = self.child(Self::ROOT, current_char)
            {
                states.push((current, next));
            }
        }
        // A match running to the end of the text.
        for &(start, pointer) in &states {
            if self.terminal(pointer) {
                offsets.push(start);
                offsets.push(n);
                break;
            }
        }

        // `cut_text`.
        offsets.push(n);
        let byte = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
        let mut pieces = Vec::new();
        let mut start = 0;
        for end in offsets {
            if start >= end {
                continue; // start > end is the "bug in Trie algorithm" the Python code logs
            }
            pieces.push(&text[byte(start)..byte(end)]);
            start = end;
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie(words: &[&str]) -> SplitTrie {
        let mut t = SplitTrie::default();
        for w in words {
            t.add(w);
        }
        t
    }

    // Expected values: transformers 4.57.1's `Trie().split` on the same words and texts.

    #[test]
    fn splits_like_the_docstrings() {
        let t = trie(&[]);
        assert_eq!(
            t.split("[CLS] This is a extra_id_100"),
            ["[CLS] This is a extra_id_100"]
        );
        let t = trie(&["[CLS]", "extra_id_1", "extra_id_100"]);
        assert_eq!(
            t.split("[CLS] This is a extra_id_100"),
            ["[CLS]", " This is a ", "extra_id_100"]
        );
        let t = trie(&["A", "BC"]);
        assert_eq!(t.split("ABC"), ["A", "BC"]);
        let t = trie(&["blowing", "lower"]);
        assert_eq!(t.split("blower"), ["b", "lower"]);
        let t = trie(&["AB", "B", "C"]);
        assert_eq!(t.split("ABC"), ["AB", "C"]);
        let t = trie(&["ABC", "B", "CD"]);
        assert_eq!(t.split("ABCD"), ["ABC", "D"]);
    }

    #[test]
    fn t5_tokens() {
        let t = trie(&[
            "</s>",
            "<pad>",
            "<extra_id_1>",
            "<extra_id_10>",
            "<extra_id_100>",
        ]);
        assert_eq!(
            t.split("a</s></s> <extra_id_10><extra_id_100>x"),
            [
                "a",
                "</s>",
                "</s>",
                " ",
                "<extra_id_10>",
                "<extra_id_100>",
                "x"
            ]
        );
        assert_eq!(t.split("<extra_id_1000>"), ["<extra_id_1000>"]);
        assert_eq!(t.split("ünï </s>"), ["ünï ", "</s>"]);
        assert_eq!(t.split("</s"), ["</s"]);
        assert!(t.split("").is_empty());
    }

    #[test]
    fn python_whitespace() {
        assert_eq!(py_lstrip("\u{1f}\u{a0}\u{3000}\t x "), "x ");
        assert_eq!(py_rstrip(" x\u{1c}\u{2028}\u{85}"), " x");
        assert_eq!(
            py_rstrip("x\u{200b}"),
            "x\u{200b}",
            "zero width space is not whitespace"
        );
    }
}
