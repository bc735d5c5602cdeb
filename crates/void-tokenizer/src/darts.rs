//! Read-only lookups in a Darts-clone double array, the trie format of sentencepiece's
//! precompiled character maps (`third_party/darts_clone/darts.h`, version 0.32).
//!
//! The array is a sequence of little-endian 32-bit units. A unit packs a label (bits 0-7), a
//! "has leaf" flag (bit 8) and the offset to its children (bits 10-31, scaled by 256 when bit 9
//! is set); a leaf unit (bit 31 set) holds a value in bits 0-30. From a node at index `i`, the
//! child for byte `c` is at `i ^ offset(i) ^ c` and is real only if that unit's label is `c`;
//! the value of a key ending at node `i` sits in the leaf unit at `i ^ offset(i)`.
//!
//! Indices are checked: a corrupt array gives no match where darts.h would read out of bounds.

/// A double array (its units, decoded once).
#[derive(Clone, Debug, Default)]
pub(crate) struct DoubleArray {
    units: Vec<u32>,
}

/// One key found by [`DoubleArray::common_prefix_search`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Match {
    /// The value stored with the key.
    pub value: u32,
    /// The key's length in bytes.
    pub length: usize,
}

fn has_leaf(unit: u32) -> bool {
    (unit >> 8) & 1 == 1
}

fn value(unit: u32) -> u32 {
    unit & ((1 << 31) - 1)
}

fn label(unit: u32) -> u32 {
    unit & ((1 << 31) | 0xff)
}

fn offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
}

impl DoubleArray {
    /// The array stored in `blob` (its length divided by 4 units; a trailing partial unit is
    /// ignored, as `set_array(blob, size / unit_size)` does).
    pub fn from_bytes(blob: &[u8]) -> Self {
        let units = blob
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self { units }
    }

    /// Every key that is a prefix of `key`, shortest first (`commonPrefixSearch` with an
    /// explicit length: NUL bytes in `key` are ordinary bytes).
    pub fn common_prefix_search(&self, key: &[u8]) -> Vec<Match> {
        let mut results = Vec::new();
        let Some(&root) = self.units.first() else {
            return results;
        };
        let mut node_pos = offset(root);
        for (i, &byte) in key.iter().enumerate() {
            node_pos ^= usize::from(byte);
            let Some(&unit) = self.units.get(node_pos) else {
                return results;
            };
            if label(unit) != u32::from(byte) {
                return results;
            }
            node_pos ^= offset(unit);
            if has_leaf(unit) {
                let Some(&leaf) = self.units.get(node_pos) else {
                    return results;
                };
                results.push(Match {
                    value: value(leaf),
                    length: i + 1,
                });
            }
        }
        results
    }

    /// The longest key that is a prefix of `key`, as `Normalizer::NormalizePrefix` picks it.
    pub fn longest_prefix(&self, key: &[u8]) -> Option<Match> {
        let mut best: Option<Match> = None;
        for m in self.common_prefix_search(key) {
            if best.is_none_or(|b| m.length > b.length) {
                best = Some(m);
            }
        }
        best
    }
}

/// A double array built in memory, for tests: the same layout darts-clone writes, from a
/// naive (not space-optimal) placement of children.
#[cfg(test)]
pub(crate) fn build(keys: &[(&[u8], u32)]) -> Vec<u8> {
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Node {
        children: BTreeMap<u8, Node>,
        value: Option<u32>,
    }
    let mut root = Node::default();
    for (key, value) in keys {
        let mut node = &mut root;
        for &b in *key {
            node = node.children.entry(b).or_default();
        }
        node.value = Some(*value);
    }

    // Each node's children (and leaf, at label 0) go into a fresh 256-unit block.
    let mut units: Vec<u32> = vec![0; 256];
    fn place(node: &Node, index: usize, units: &mut Vec<u32>) {
        let base = units.len();
        units.resize(base + 256, 0);
        // `offset` must satisfy index ^ offset = base; blocks are 256-aligned.
        let off = index ^ base;
        assert!(off < (1 << 21), "test trie too large");
        units[index] |= (off as u32) << 10;
        if let Some(v) = node.value {
            units[index] |= 1 << 8;
            units[base] = v | (1 << 31);
        }
        for (&label, child) in &node.children {
            let child_index = base ^ usize::from(label);
            units[child_index] |= u32::from(label);
            place(child, child_index, units);
        }
    }
    place(&root, 0, &mut units);
    units.iter().flat_map(|u| u.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_all_prefixes_shortest_first() {
        let blob = build(&[(b"a", 1), (b"ab", 2), (b"abc", 3), (b"b", 4)]);
        let da = DoubleArray::from_bytes(&blob);
        let found = da.common_prefix_search(b"abcd");
        assert_eq!(
            found,
            vec![
                Match {
                    value: 1,
                    length: 1
                },
                Match {
                    value: 2,
                    length: 2
                },
                Match {
                    value: 3,
                    length: 3
                }
            ]
        );
        assert_eq!(da.longest_prefix(b"abx").map(|m| m.value), Some(2));
        assert_eq!(
            da.longest_prefix(b"a\0bc").map(|m| m.value),
            Some(1),
            "NUL is a byte"
        );
        assert_eq!(da.longest_prefix(b"c"), None);
        assert_eq!(da.longest_prefix(b""), None);
    }

    #[test]
    fn corrupt_arrays_give_no_match_instead_of_panicking() {
        assert_eq!(DoubleArray::from_bytes(&[]).longest_prefix(b"a"), None);
        // A root whose offset points far outside the array.
        let da = DoubleArray::from_bytes(&[0xff, 0xff, 0xff, 0x7f, 1, 2]);
        assert_eq!(da.longest_prefix(b"abc"), None);
    }
}
