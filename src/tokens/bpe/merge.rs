//! tiktoken's byte-pair merge (`_byte_pair_merge` and, for pieces of 100 bytes or more,
//! `_byte_pair_merge_large`): starting from single bytes, merge the adjacent pair whose
//! bytes have the lowest rank, the leftmost on a tie, until no pair is a token.

use std::collections::BinaryHeap;

use super::ranks::{Rank, Ranks};

/// Buffers reused from piece to piece.
#[derive(Default)]
pub(crate) struct Scratch {
    parts: Vec<(usize, Rank)>,
    bounds: Vec<usize>,
}

/// Where the tokens of `piece` (at least one byte, not itself a token) start, then
/// `piece.len()`: token k is `piece[bounds[k]..bounds[k + 1]]`.
pub(crate) fn split<'s>(ranks: &Ranks, piece: &[u8], scratch: &'s mut Scratch) -> &'s [usize] {
    scratch.bounds.clear();
    if piece.len() == 1 {
        scratch.bounds.extend([0, 1]);
    } else if piece.len() < 100 {
        small(ranks, piece, &mut scratch.parts);
        scratch
            .bounds
            .extend(scratch.parts.iter().map(|&(start, _)| start));
    } else {
        large(ranks, piece, &mut scratch.bounds);
    }
    &scratch.bounds
}

fn rank_of(ranks: &Ranks, bytes: &[u8]) -> Rank {
    ranks.get(bytes).unwrap_or(Rank::MAX)
}

/// `_byte_pair_merge`: `(start, rank of the pair starting there)`, then `(len, MAX)`.
fn small(ranks: &Ranks, piece: &[u8], parts: &mut Vec<(usize, Rank)>) {
    parts.clear();
    let mut min_rank: (Rank, usize) = (Rank::MAX, usize::MAX);
    for i in 0..piece.len() - 1 {
        let rank = rank_of(ranks, &piece[i..i + 2]);
        if rank < min_rank.0 {
            min_rank = (rank, i);
        }
        parts.push((i, rank));
    }
    parts.push((piece.len() - 1, Rank::MAX));
    parts.push((piece.len(), Rank::MAX));

    // The rank of the pair at i once parts[i + 1] is gone (it is still there).
    let get_rank = |parts: &[(usize, Rank)], i: usize| {
        if i + 3 < parts.len() {
            rank_of(ranks, &piece[parts[i].0..parts[i + 3].0])
        } else {
            Rank::MAX
        }
    };

    while min_rank.0 != Rank::MAX {
        let i = min_rank.1;
        if i > 0 {
            parts[i - 1].1 = get_rank(parts, i - 1);
        }
        parts[i].1 = get_rank(parts, i);
        parts.remove(i + 1);

        min_rank = (Rank::MAX, usize::MAX);
        for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
            if rank < min_rank.0 {
                min_rank = (rank, i);
            }
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct Merge {
    start: usize,
    rank: Rank,
}

impl Ord for Merge {
    // The heap pops the lowest rank first, then the leftmost start.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .rank
            .cmp(&self.rank)
            .then_with(|| other.start.cmp(&self.start))
    }
}

impl PartialOrd for Merge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

struct State {
    prev: usize,
    end: usize,
    next_end: usize,
    next_rank: Rank,
}

/// `_byte_pair_merge_large`: the same merges found with a heap, for long pieces.
fn large(ranks: &Ranks, piece: &[u8], bounds: &mut Vec<usize>) {
    let mut state = Vec::with_capacity(piece.len());
    state.push(State {
        prev: usize::MAX,
        end: 1,
        next_end: 2,
        next_rank: Rank::MAX,
    });
    let mut heap = BinaryHeap::with_capacity(piece.len());
    for i in 0..piece.len() - 1 {
        if let Some(rank) = ranks.get(&piece[i..i + 2]) {
            heap.push(Merge { start: i, rank });
            state[i].next_rank = rank;
        }
        state.push(State {
            prev: i,
            end: i + 2,
            next_end: i + 3,
            next_rank: Rank::MAX,
        });
    }

    // The merge of the token at `start` with the one that ends at `next_end`, if any.
    let potential_merge =
        |state: &mut Vec<State>, heap: &mut BinaryHeap<Merge>, start: usize, next_end: usize| {
            state[start].next_end = next_end;
            state[start].next_rank = Rank::MAX;
            if next_end <= piece.len()
                && let Some(rank) = ranks.get(&piece[start..next_end])
            {
                heap.push(Merge { start, rank });
                state[start].next_rank = rank;
            }
        };

    while let Some(left) = heap.pop() {
        if left.rank == Rank::MAX {
            break;
        }
        if left.rank != state[left.start].next_rank {
            continue; // invalidated since it was pushed
        }
        let left_start = left.start;
        let right_start = state[left_start].end;
        let right_end = state[left_start].next_end;
        let right_next_end = state[right_start].next_end;

        state[left_start].end = right_end;
        potential_merge(&mut state, &mut heap, left_start, right_next_end);
        if right_end < state.len() {
            state[right_end].prev = left_start;
        }
        if left_start > 0 {
            let prev_start = state[left_start].prev;
            potential_merge(&mut state, &mut heap, prev_start, right_end);
        }
        state[right_start].next_rank = Rank::MAX;
    }

    bounds.clear();
    let mut i = 0;
    while i < state.len() {
        bounds.push(i);
        i = state[i].end;
    }
    bounds.push(piece.len());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::bpe::{CL100K_BASE, O200K_BASE};

    /// The heap merge (pieces of 100 bytes or more) cuts where the scan would.
    #[test]
    fn the_heap_merge_cuts_where_the_scan_does() {
        let texts = [
            "zqxjzqxjabcdefghij".repeat(9),
            "=-".repeat(70),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
            "東京は日本の首都です🙂 ñandú Ünïcödé ".repeat(5),
            "SGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IHRleHQgdGhhdCBnb2VzIG9uIGZvciBhIHdoaWxlLg".repeat(2),
        ];
        for bpe in [&*O200K_BASE, &*CL100K_BASE] {
            for text in &texts {
                let piece = text.as_bytes();
                assert!(piece.len() >= 100);
                let mut parts = Vec::new();
                small(&bpe.ranks, piece, &mut parts);
                let scan: Vec<usize> = parts.iter().map(|&(start, _)| start).collect();
                let mut heap = Vec::new();
                large(&bpe.ranks, piece, &mut heap);
                assert_eq!(heap, scan, "{text}");
                assert!(heap.len() > 2);
            }
        }
    }
}
