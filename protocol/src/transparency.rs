//! The Merkle tree of the transparency log, as RFC 6962 / RFC 9162 define it: leaf and
//! node hashes, roots of ranges, inclusion and consistency proofs and their checks.
//!
//! Pure functions without I/O, so the server, a witness and the offline archive
//! verifier share one implementation. Where a proof needs the hash of a subtree, the
//! caller supplies it through a `perfect(level, index)` callback for *complete,
//! aligned* subtrees only (leaves `index << level .. (index + 1) << level`): that is
//! exactly what a database can keep precomputed, so every proof is a bounded number
//! of lookups (O(log² n) in the worst case, O(log n) typically).

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Proof lengths beyond this cannot come from a tree of at most 2^63 leaves; a longer
/// one is refused before any hashing (bounds the work an attacker can ask for).
pub const MAX_PROOF_LEN: usize = 128;

/// `SHA-256(0x00 || data)`: the domain separation keeps a leaf from passing as a node.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: the hash of the empty string (RFC 6962 2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 6962's split.
pub fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

fn perfect_of(start: u64, n: u64) -> Option<(u32, u64)> {
    (n.is_power_of_two() && start.is_multiple_of(n)).then(|| (n.trailing_zeros(), start >> n.trailing_zeros()))
}

/// The root of the leaves `start..end`, built from complete aligned subtrees.
pub fn range_root<E>(start: u64, end: u64, perfect: &mut dyn FnMut(u32, u64) -> Result<Hash, E>) -> Result<Hash, E> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if let Some((level, index)) = perfect_of(start, n) {
        return perfect(level, index);
    }
    let k = split(n);
    let left = range_root(start, start + k, perfect)?;
    let right = range_root(start + k, end, perfect)?;
    Ok(node_hash(&left, &right))
}

/// The audit path of leaf `index` in the tree of the first `size` leaves, leaf to root
/// (RFC 6962 2.1.1).
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    perfect: &mut dyn FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    fn path<E>(
        m: u64,
        start: u64,
        end: u64,
        perfect: &mut dyn FnMut(u32, u64) -> Result<Hash, E>,
        out: &mut Vec<Hash>,
    ) -> Result<(), E> {
        let n = end - start;
        if n <= 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            path(m, start, start + k, perfect, out)?;
            out.push(range_root(start + k, end, perfect)?);
        } else {
            path(m - k, start + k, end, perfect, out)?;
            out.push(range_root(start, start + k, perfect)?);
        }
        Ok(())
    }
    assert!(index < size, "inclusion proof of leaf {index} in a tree of {size}");
    let mut out = Vec::new();
    path(index, 0, size, perfect, &mut out)?;
    Ok(out)
}

/// The proof that the tree of `first` leaves is a prefix of the tree of `second`
/// leaves (RFC 6962 2.1.2); `0 < first <= second`.
pub fn consistency_proof<E>(
    first: u64,
    second: u64,
    perfect: &mut dyn FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    fn sub<E>(
        m: u64,
        start: u64,
        end: u64,
        whole: bool,
        perfect: &mut dyn FnMut(u32, u64) -> Result<Hash, E>,
        out: &mut Vec<Hash>,
    ) -> Result<(), E> {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(range_root(start, end, perfect)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            sub(m, start, start + k, whole, perfect, out)?;
            out.push(range_root(start + k, end, perfect)?);
        } else {
            sub(m - k, start + k, end, false, perfect, out)?;
            out.push(range_root(start, start + k, perfect)?);
        }
        Ok(())
    }
    assert!(0 < first && first <= second, "consistency proof from {first} to {second}");
    let mut out = Vec::new();
    sub(first, 0, second, true, perfect, &mut out)?;
    Ok(out)
}

/// Checks an inclusion proof (RFC 9162 2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size || proof.len() > MAX_PROOF_LEN {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

/// Checks a consistency proof between two roots (RFC 9162 2.1.4.2). Equal sizes need
/// an empty proof and equal roots.
pub fn verify_consistency(first: u64, second: u64, first_root: &Hash, second_root: &Hash, proof: &[Hash]) -> bool {
    if first == 0 || first > second || proof.len() > MAX_PROOF_LEN {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else { return false };
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &fr == first_root && &sr == second_root
}

/// A tree held in memory as its leaf hashes: for tests, witnesses and archives.
pub struct MemoryTree<'a>(pub &'a [Hash]);

impl MemoryTree<'_> {
    /// The hash of a complete aligned subtree, computed from the leaves.
    pub fn perfect(&self, level: u32, index: u64) -> Hash {
        let start = (index << level) as usize;
        let leaves = &self.0[start..start + (1usize << level)];
        fn fold(l: &[Hash]) -> Hash {
            if l.len() == 1 {
                return l[0];
            }
            let mid = l.len() / 2;
            node_hash(&fold(&l[..mid]), &fold(&l[mid..]))
        }
        fold(leaves)
    }

    pub fn root(&self) -> Hash {
        let mut p = |l, i| Ok::<_, ()>(self.perfect(l, i));
        range_root(0, self.0.len() as u64, &mut p).expect("infallible")
    }
}

/// Builds roots incrementally while leaves stream past, keeping only O(log n) hashes:
/// the verifier re-reads millions of leaves without holding them.
#[derive(Default, Clone)]
pub struct CompactRange {
    /// Roots of the complete subtrees covering the leaves so far, largest first.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl CompactRange {
    /// Appends a leaf hash; returns the complete subtrees (level, index, hash) that it
    /// finished, level ≥ 1, so a caller can compare them with stored ones.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let mut finished = Vec::new();
        let mut cur = (0u32, leaf);
        let index = self.size;
        while let Some(&(level, left)) = self.stack.last() {
            if level != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (level + 1, node_hash(&left, &cur.1));
            finished.push((cur.0, index >> cur.0, cur.1));
        }
        self.stack.push(cur);
        self.size += 1;
        finished
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree roots held (level, hash), largest first: with `size`, all a monitor
    /// keeps between runs.
    pub fn parts(&self) -> &[(u32, Hash)] {
        &self.stack
    }

    /// Rebuilds a range from `parts`; `None` unless their levels are exactly the
    /// binary decomposition of `size`, largest first.
    pub fn from_parts(size: u64, parts: Vec<(u32, Hash)>) -> Option<CompactRange> {
        let levels: Vec<u32> = (0..64u32).rev().filter(|l| size >> l & 1 == 1).collect();
        (parts.iter().map(|p| p.0).collect::<Vec<_>>() == levels).then_some(CompactRange { stack: parts, size })
    }

    /// The root of all leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else { return empty_root() };
        for (_, h) in it {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

/// Parses a lower-case or upper-case 64-digit hex hash.
pub fn parse_hash(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
    }

    fn tree_root(l: &[Hash]) -> Hash {
        MemoryTree(l).root()
    }

    fn proof_incl(l: &[Hash], index: u64, size: u64) -> Vec<Hash> {
        let t = MemoryTree(&l[..size as usize]);
        inclusion_proof(index, size, &mut |lv, i| Ok::<_, ()>(t.perfect(lv, i))).unwrap()
    }

    fn proof_cons(l: &[Hash], first: u64, second: u64) -> Vec<Hash> {
        let t = MemoryTree(&l[..second as usize]);
        consistency_proof(first, second, &mut |lv, i| Ok::<_, ()>(t.perfect(lv, i))).unwrap()
    }

    /// RFC 6962's definition, written the slow way, to check the fast one against.
    fn reference_root(l: &[Hash]) -> Hash {
        match l.len() {
            0 => empty_root(),
            1 => l[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&l[..k]), &reference_root(&l[k..]))
            }
        }
    }

    #[test]
    fn known_answers_from_the_definition() {
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // The leaf hash of the empty string, as in RFC 6962's test vectors.
        assert_eq!(hex::encode(leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    #[test]
    fn compact_range_and_range_root_agree_with_the_definition() {
        let l = leaves(70);
        let mut c = CompactRange::default();
        for (i, h) in l.iter().enumerate() {
            c.push(*h);
            assert_eq!(c.root(), reference_root(&l[..=i]), "size {}", i + 1);
            assert_eq!(tree_root(&l[..=i]), reference_root(&l[..=i]));
        }
    }

    #[test]
    fn a_proof_of_the_wrong_length_or_sizes_fails() {
        let l = leaves(10);
        let p = proof_cons(&l, 3, 10);
        let (r3, r10) = (tree_root(&l[..3]), tree_root(&l));
        assert!(verify_consistency(3, 10, &r3, &r10, &p));
        assert!(!verify_consistency(3, 10, &r3, &r10, &p[..p.len() - 1]));
        assert!(!verify_consistency(4, 10, &r3, &r10, &p));
        assert!(!verify_consistency(0, 10, &r3, &r10, &p));
        assert!(!verify_consistency(10, 3, &r10, &r3, &p));
        assert!(verify_consistency(10, 10, &r10, &r10, &[]));
        assert!(!verify_consistency(10, 10, &r10, &r3, &[]));
        let pi = proof_incl(&l, 4, 10);
        assert!(verify_inclusion(4, 10, &l[4], &pi, &r10));
        assert!(!verify_inclusion(10, 10, &l[4], &pi, &r10));
        assert!(!verify_inclusion(5, 10, &l[4], &pi, &r10));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn consistency_between_random_sizes_verifies(second in 1u64..300, f in 0.0f64..1.0) {
            let first = 1 + ((second - 1) as f64 * f) as u64;
            let l = leaves(second);
            let proof = proof_cons(&l, first, second);
            let (r1, r2) = (tree_root(&l[..first as usize]), tree_root(&l));
            prop_assert!(verify_consistency(first, second, &r1, &r2, &proof));
            // Proofs are O(log n).
            prop_assert!(proof.len() <= 2 * (64 - second.leading_zeros() as usize) + 1);
        }

        #[test]
        fn inclusion_of_random_leaves_verifies(size in 1u64..300, f in 0.0f64..1.0) {
            let index = ((size - 1) as f64 * f) as u64;
            let l = leaves(size);
            let proof = proof_incl(&l, index, size);
            prop_assert!(verify_inclusion(index, size, &l[index as usize], &proof, &tree_root(&l)));
        }

        #[test]
        fn any_single_byte_change_in_a_consistency_proof_or_root_fails(
            second in 2u64..200, f in 0.0f64..1.0, which in any::<prop::sample::Index>(), bit in 0u8..8,
        ) {
            let first = 1 + ((second - 2) as f64 * f) as u64;
            let l = leaves(second);
            let proof = proof_cons(&l, first, second);
            let (r1, r2) = (tree_root(&l[..first as usize]), tree_root(&l));
            // Every byte of proof, first root and second root, one at a time.
            let total = proof.len() * 32 + 64;
            let at = which.index(total);
            let (mut p, mut a, mut b) = (proof.clone(), r1, r2);
            let flip = 1u8 << bit;
            if at < proof.len() * 32 {
                p[at / 32][at % 32] ^= flip;
            } else if at < proof.len() * 32 + 32 {
                a[at - proof.len() * 32] ^= flip;
            } else {
                b[at - proof.len() * 32 - 32] ^= flip;
            }
            prop_assert!(!verify_consistency(first, second, &a, &b, &p));
        }

        #[test]
        fn any_single_byte_change_in_an_inclusion_proof_leaf_or_root_fails(
            size in 2u64..200, f in 0.0f64..1.0, which in any::<prop::sample::Index>(), bit in 0u8..8,
        ) {
            let index = ((size - 1) as f64 * f) as u64;
            let l = leaves(size);
            let proof = proof_incl(&l, index, size);
            let (mut p, mut leaf, mut root) = (proof.clone(), l[index as usize], tree_root(&l));
            let total = proof.len() * 32 + 64;
            let at = which.index(total);
            let flip = 1u8 << bit;
            if at < proof.len() * 32 {
                p[at / 32][at % 32] ^= flip;
            } else if at < proof.len() * 32 + 32 {
                leaf[at - proof.len() * 32] ^= flip;
            } else {
                root[at - proof.len() * 32 - 32] ^= flip;
            }
            prop_assert!(!verify_inclusion(index, size, &leaf, &p, &root));
        }
    }
}
