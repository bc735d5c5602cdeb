//! A plain byte trie: the vocabulary lookup of the unigram model and the user-defined-symbol
//! matcher of the normaliser. sentencepiece keeps both in Darts double arrays; only the set of
//! keys and the order of lookups matter to the result, so a simpler structure serves.

/// Keys (byte strings) with a value each.
#[derive(Clone, Debug)]
pub(crate) struct ByteTrie {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// (byte, node index), sorted by byte.
    children: Vec<(u8, u32)>,
    value: Option<u32>,
}

impl Default for ByteTrie {
    fn default() -> Self {
        Self {
            nodes: vec![Node::default()],
        }
    }
}

impl ByteTrie {
    /// The root node, where every walk starts.
    pub const ROOT: usize = 0;

    /// Adds `key` with `value` (replacing an earlier value for the same key).
    pub fn insert(&mut self, key: &[u8], value: u32) {
        let mut node = Self::ROOT;
        for &byte in key {
            node = match self.child(node, byte) {
                Some(next) => next,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    let children = &mut self.nodes[node].children;
                    let at = children.partition_point(|&(b, _)| b < byte);
                    children.insert(at, (byte, next as u32));
                    next
                }
            };
        }
        self.nodes[node].value = Some(value);
    }

    /// The node reached from `node` by `byte`.
    pub fn child(&self, node: usize, byte: u8) -> Option<usize> {
        let children = &self.nodes.get(node)?.children;
        children
            .binary_search_by_key(&byte, |&(b, _)| b)
            .ok()
            .map(|i| children[i].1 as usize)
    }

    /// The value of the key ending at `node`.
    pub fn value(&self, node: usize) -> Option<u32> {
        self.nodes.get(node)?.value
    }

    /// The value stored for exactly `key`.
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        let mut node = Self::ROOT;
        for &byte in key {
            node = self.child(node, byte)?;
        }
        self.value(node)
    }

    /// The length of the longest key that is a prefix of `text`.
    pub fn longest_prefix(&self, text: &[u8]) -> Option<usize> {
        let mut node = Self::ROOT;
        let mut best = None;
        for (i, &byte) in text.iter().enumerate() {
            let Some(next) = self.child(node, byte) else {
                break;
            };
            node = next;
            if self.value(node).is_some() {
                best = Some(i + 1);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let mut trie = ByteTrie::default();
        trie.insert(b"ab", 1);
        trie.insert(b"abcd", 2);
        trie.insert(b"b", 3);
        trie.insert(b"ab", 4);
        assert_eq!(trie.get(b"ab"), Some(4));
        assert_eq!(trie.get(b"abc"), None);
        assert_eq!(trie.get(b""), None);
        assert_eq!(trie.longest_prefix(b"abcde"), Some(4));
        assert_eq!(trie.longest_prefix(b"abc"), Some(2));
        assert_eq!(trie.longest_prefix(b"a"), None);
        assert_eq!(trie.longest_prefix(b"ba"), Some(1));
    }
}
