//! The guillotine search: a fast, incomplete way to *find* a packing of a part with **zero slack** at the
//! capacity (every section holds exactly `capacity` bytes), tried before the complete searches. Our addition
//! to MiniMalloc's search.
//!
//! A packing is *guillotine* when it can be cut recursively, right through, either at a time no buffer crosses
//! or at an offset no buffer crosses. With zero slack, an offset cut at height `y` splits the buffers into a
//! lower set whose bytes total exactly `y` in every section and an upper set totalling `capacity - y`; each is a
//! zero-slack problem of its own, and the two can be stacked in either order. So the search looks for such a
//! split (a *cut*) instead of for offsets: it walks the sections in time order, choosing which buffers starting
//! there join the lower set so that its total stays exactly `y` (a subset-sum question per section, usually with
//! one or two answers), then solves both sets recursively (split first at the times none of their buffers
//! crosses). Since the two sets can be stacked either way, one fixed buffer always goes to the lower set.
//!
//! Pieces that could not be packed are remembered (by a hash of their buffers, height and alignment phase, at
//! most [`FAILED_LIMIT`] of them), since different cuts higher up often lead to the same pieces.
//!
//! It finds a packing (then optimal: at the capacity of a zero-slack part) or gives up; it never proves that
//! none exists, since a part may have packings that are not guillotine. Every packing it returns is checked.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use super::search::{Instance, Outcome};

/// At most this many failed pieces remembered.
pub const FAILED_LIMIT: usize = 1 << 17;

/// At most this many candidate heights enumerated for a cut (beyond, the first section's choices set it).
pub const HEIGHTS_LIMIT: usize = 1 << 12;

/// The sections (those with the fewest buffers) whose subset sums filter the heights of a cut.
pub const HEIGHT_SECTIONS: usize = 16;

/// The deepest nesting of the cut searches (the search runs on its own thread with [`STACK_BYTES`] of stack);
/// deeper branches are abandoned. The perfect packings of the suite nest at most about 7,000 deep (1,000 buffers).
pub const DEPTH_LIMIT: usize = 50_000;

/// The stack of the thread the search runs on: room for [`DEPTH_LIMIT`] levels even in a debug build (about
/// 1.3 kB a level there, 130 bytes in release). Only the pages used count in memory.
pub const STACK_BYTES: usize = 128 << 20;

/// One run of the guillotine search.
pub struct Guillotine<'a> {
    inst: &'a Instance,
    capacity: u64,
    offset: Vec<u64>,
    /// Scratch: whether each buffer is in the lower set of the cut being built (per recursion level, by value).
    lower: Vec<bool>,
    /// Hashes of the pieces found impossible to pack.
    failed: HashSet<u64>,
    /// Nested calls of [`Guillotine::cut_group`] (each piece's cut search nests in its parent's).
    depth: usize,
    nodes: u64,
    node_limit: u64,
    deadline: Instant,
    stopped: Option<Outcome>,
}

impl<'a> Guillotine<'a> {
    /// A guillotine search of `inst` (zero slack at `capacity`, see [`super::sweep::zero_slack`]).
    pub fn new(inst: &'a Instance, capacity: u64, node_limit: u64, deadline: Instant) -> Self {
        Guillotine {
            inst,
            capacity,
            offset: vec![0; inst.len()],
            lower: vec![false; inst.len()],
            failed: HashSet::new(),
            depth: 0,
            nodes: 0,
            node_limit,
            deadline,
            stopped: None,
        }
    }

    /// Run the search on a thread of its own with [`STACK_BYTES`] of stack (the recursion nests one cut search
    /// in another): [`Outcome::Found`], [`Outcome::Infeasible`] meaning only "no guillotine packing found" (not a
    /// proof that no packing exists), or a limit; and the nodes visited. [`Outcome::NodeLimit`] with no node
    /// when the thread cannot be started.
    pub fn run(self) -> (Outcome, u64) {
        std::thread::scope(|scope| {
            match std::thread::Builder::new().stack_size(STACK_BYTES).spawn_scoped(scope, move || self.run_here()) {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => (Outcome::NodeLimit, 0),
            }
        })
    }

    /// [`Guillotine::run`] on the current thread.
    fn run_here(mut self) -> (Outcome, u64) {
        let all: Vec<usize> = (0..self.inst.len()).collect();
        let outcome = match self.solve(&all, 0, self.capacity) {
            Some(true) if self.valid() => Outcome::Found(self.offset.clone()),
            Some(_) => Outcome::Infeasible,
            None => self.stopped.take().unwrap_or(Outcome::Deadline),
        };
        (outcome, self.nodes)
    }

    /// Whether the offsets found are a packing within the capacity (aligned, no two buffers alive together
    /// overlapping): a guard, the construction already ensures it.
    fn valid(&self) -> bool {
        let inst = self.inst;
        let n = inst.len();
        let mut by_section: Vec<Vec<(u64, u64)>> = vec![Vec::new(); inst.section_count()];
        for i in 0..n {
            let (o, s) = (self.offset[i], inst.size(i));
            if o % inst.align(i) != 0 || o + s > self.capacity {
                return false;
            }
            let (lo, hi) = inst.sections(i);
            for col in &mut by_section[lo..hi] {
                col.push((o, o + s));
            }
        }
        by_section.iter_mut().all(|col| {
            col.sort_unstable();
            col.windows(2).all(|w| w[0].1 <= w[1].0)
        })
    }

    /// Count a node; `false` when a limit has passed.
    fn tick(&mut self) -> bool {
        self.nodes += 1;
        if self.nodes > self.node_limit {
            self.stopped = Some(Outcome::NodeLimit);
            return false;
        }
        if self.nodes % 64 == 0 && Instant::now() >= self.deadline {
            self.stopped = Some(Outcome::Deadline);
            return false;
        }
        true
    }

    /// Pack `set` (bytes totalling exactly `height` in every section it spans) into `[base, base + height)`,
    /// piece by piece between the times none of its buffers crosses. `None` when stopped.
    fn solve(&mut self, set: &[usize], base: u64, height: u64) -> Option<bool> {
        let inst = self.inst;
        let mut sorted = set.to_vec();
        sorted.sort_by_key(|&i| (inst.sections(i).0, std::cmp::Reverse(inst.size(i)), inst.sections(i).1, i));
        let mut start = 0;
        let mut reach = 0;
        for k in 0..sorted.len() {
            let (lo, hi) = inst.sections(sorted[k]);
            if k > start && lo >= reach {
                if !self.solve_piece(&sorted[start..k], base, height)? {
                    return Some(false);
                }
                start = k;
            }
            reach = if k == start { hi } else { reach.max(hi) };
        }
        if start < sorted.len() {
            return self.solve_piece(&sorted[start..], base, height);
        }
        Some(true)
    }

    /// Pack one piece (`piece` sorted by start section, no time inside it uncrossed) into `[base, base + height)`:
    /// a single buffer exactly `height` high, or a cut into a lower and an upper set, each packed recursively.
    fn solve_piece(&mut self, piece: &[usize], base: u64, height: u64) -> Option<bool> {
        if !self.tick() {
            return None;
        }
        let inst = self.inst;
        let key = {
            let mut h = DefaultHasher::new();
            piece.hash(&mut h);
            height.hash(&mut h);
            piece.iter().map(|&i| base % inst.align(i)).collect::<Vec<u64>>().hash(&mut h);
            h.finish()
        };
        if self.failed.contains(&key) {
            return Some(false);
        }
        let found = self.pack_piece(piece, base, height)?;
        if !found && self.failed.len() < FAILED_LIMIT {
            self.failed.insert(key);
        }
        Some(found)
    }

    /// [`Guillotine::solve_piece`] without the memory of failed pieces.
    fn pack_piece(&mut self, piece: &[usize], base: u64, height: u64) -> Option<bool> {
        let inst = self.inst;
        if piece.len() == 1 {
            let i = piece[0];
            if inst.size(i) == height && base % inst.align(i) == 0 {
                self.offset[i] = base;
                return Some(true);
            }
            return Some(false);
        }
        // Buffers grouped by start section, and by end section (indices into `piece`).
        let first = inst.sections(piece[0]).0;
        let last = piece.iter().map(|&i| inst.sections(i).1).max().unwrap_or(first);
        let mut starts: Vec<(usize, usize)> = Vec::new(); // (section, first index in piece) for each start section
        for (k, &i) in piece.iter().enumerate() {
            let s = inst.sections(i).0;
            if starts.last().is_none_or(|&(t, _)| t != s) {
                starts.push((s, k));
            }
        }
        let mut ending: Vec<Vec<usize>> = vec![Vec::new(); last - first + 1];
        for &i in piece {
            ending[inst.sections(i).1 - first].push(i);
        }
        for &i in piece {
            self.lower[i] = false;
        }
        // Buffers of the piece not yet put on a side, by end section, and the subset sums of those starting there.
        let mut pending = vec![0u32; last - first + 1];
        for &i in piece {
            pending[inst.sections(i).1 - first] += 1;
        }
        let mut sums = vec![None; last - first + 1];
        for (g, &(section, begin)) in starts.iter().enumerate() {
            let end = starts.get(g + 1).map_or(piece.len(), |&(_, b)| b);
            sums[section - first] = subset_sums(piece[begin..end].iter().map(|&i| inst.size(i)));
        }
        let mut cut = Cut {
            piece,
            starts: &starts,
            ending: &ending,
            first,
            last,
            base,
            height,
            pending,
            dropped: vec![0; last - first + 1],
            sums,
        };
        let found = match self.heights(piece, first, last, height) {
            Some(heights) => {
                let mut found = Some(false);
                for y in heights {
                    found = self.cut_group(&mut cut, 0, 0, 0, Some(y));
                    if found != Some(false) {
                        break;
                    }
                }
                found
            }
            None => self.cut_group(&mut cut, 0, 0, 0, None),
        };
        for &i in piece {
            self.lower[i] = false;
        }
        found
    }

    /// The heights a cut of `piece` (spanning sections `first..last`, `height` high) can have: a cut splits every
    /// section, so its height is a subset sum, strictly between 0 and `height`, of the sizes of the buffers alive
    /// in each section; taken over the [`HEIGHT_SECTIONS`] sections with the fewest buffers (beyond the first, only
    /// those with at most 8), at least the size of
    /// the first buffer (always in the lower set), ascending. `None` when even the section with the fewest has
    /// more than [`HEIGHTS_LIMIT`] sums (then the first section's choices set the height).
    fn heights(&self, piece: &[usize], first: usize, last: usize, height: u64) -> Option<Vec<u64>> {
        let inst = self.inst;
        let mut alive: Vec<Vec<u64>> = vec![Vec::new(); last - first];
        for &i in piece {
            let (lo, hi) = inst.sections(i);
            for list in &mut alive[lo - first..hi - first] {
                list.push(inst.size(i));
            }
        }
        alive.sort_by_key(Vec::len);
        let least = inst.size(piece[0]);
        let mut heights: Option<Vec<u64>> = None;
        for (k, sizes) in alive.iter().take(HEIGHT_SECTIONS).enumerate() {
            if k > 0 && sizes.len() > 8 {
                break; // Further filters would cost more than they save.
            }
            let Some(sums) = subset_sums(sizes.iter().copied()) else {
                break;
            };
            heights = Some(match heights {
                None => sums.into_iter().filter(|&y| y > 0 && y >= least && y < height).collect(),
                Some(h) => h.into_iter().filter(|y| sums.binary_search(y).is_ok()).collect(),
            });
        }
        heights
    }

    /// Choose the lower set's buffers among those starting at the start section `g` of the cut, from index `k`
    /// of `piece` on, with `sum` bytes of it alive there so far and `y` its height (`None` until the first start
    /// section is decided). On a complete cut, pack both sets. `None` when stopped.
    fn cut_group(&mut self, cut: &mut Cut, g: usize, k: usize, sum: u64, y: Option<u64>) -> Option<bool> {
        if self.depth >= DEPTH_LIMIT {
            return Some(false); // Abandoned: the search is incomplete anyway.
        }
        self.depth += 1;
        let found = self.cut_step(cut, g, k, sum, y);
        self.depth -= 1;
        found
    }

    /// One step of [`Guillotine::cut_group`] (which counts the depth of the recursion).
    fn cut_step(&mut self, cut: &mut Cut, g: usize, k: usize, sum: u64, y: Option<u64>) -> Option<bool> {
        if !self.tick() {
            return None;
        }
        let inst = self.inst;
        let (section, begin) = cut.starts[g];
        let end = cut.starts.get(g + 1).map_or(cut.piece.len(), |&(_, b)| b);
        if k == end {
            // The group is decided: the lower set's total here must be its height.
            let y = match y {
                Some(y) if sum == y => y,
                Some(_) => return Some(false),
                None if sum > 0 && sum < cut.height => sum,
                None => return Some(false),
            };
            if g == 0 && cut.piece[begin..end].iter().any(|&i| !self.lower[i] && inst.size(i) > cut.height - y) {
                return Some(false); // A buffer left out of the lower set does not fit above the cut.
            }
            // Carry the total to the next start section (or the end of the piece) through the buffers of the
            // lower set ending on the way; in a section where nothing starts, it cannot be refilled.
            let next = cut.starts.get(g + 1).map(|&(s, _)| s);
            let stop = next.unwrap_or(cut.last);
            let mut carried = sum;
            for t in section + 1..=stop {
                for &i in &cut.ending[t - cut.first] {
                    if self.lower[i] {
                        carried -= inst.size(i);
                    }
                }
                if t < stop && carried != y {
                    return Some(false);
                }
            }
            return match next {
                Some(_) => self.cut_group(cut, g + 1, end, carried, Some(y)),
                None => self.split(cut, y),
            };
        }
        let i = cut.piece[k];
        let size = inst.size(i);
        let rest: u64 = cut.piece[k + 1..end].iter().map(|&j| inst.size(j)).sum();
        // The first buffer of the piece always goes to the lower set (the two sets can be stacked either way).
        let forced = g == 0 && k == begin;
        // Identical buffers (same size and lifetime) are adjacent: one joins the lower set only after its twin.
        let twin_out = k > begin && inst.identical(cut.piece[k - 1], i) && !self.lower[cut.piece[k - 1]];
        let fits = !twin_out && y.is_none_or(|y| sum + size <= y) && (y.is_some() || sum + size < cut.height);
        let e = inst.sections(i).1 - cut.first;
        cut.pending[e] -= 1;
        if fits {
            self.lower[i] = true;
            cut.dropped[e] += size;
            let r = if cut.refillable(e) { self.cut_group(cut, g, k + 1, sum + size, y) } else { Some(false) };
            cut.dropped[e] -= size;
            self.lower[i] = false;
            if r != Some(false) {
                cut.pending[e] += 1;
                return r;
            }
        }
        // Left out, it goes to the upper set, so it must fit within the height left above the cut.
        let r = if forced || y.is_some_and(|y| sum + rest < y || size > cut.height - y) || !cut.refillable(e) {
            Some(false)
        } else {
            self.cut_group(cut, g, k + 1, sum, y)
        };
        cut.pending[e] += 1;
        r
    }

    /// A complete cut at height `y`: pack the lower set below it and the upper set above it.
    fn split(&mut self, cut: &Cut, y: u64) -> Option<bool> {
        let (lower, upper): (Vec<usize>, Vec<usize>) = cut.piece.iter().partition(|&&i| self.lower[i]);
        let saved: Vec<bool> = cut.piece.iter().map(|&i| self.lower[i]).collect();
        let ok = self.solve(&lower, cut.base, y)? && self.solve(&upper, cut.base + y, cut.height - y)?;
        // The recursive calls used `lower` as scratch for their own pieces: restore this level's choices.
        for (&i, &l) in cut.piece.iter().zip(&saved) {
            self.lower[i] = l;
        }
        Some(ok)
    }
}

/// The data of one cut search.
struct Cut<'p> {
    piece: &'p [usize],
    /// (start section, first index in `piece`) of each start section, in time order.
    starts: &'p [(usize, usize)],
    /// Buffers of the piece ending at each section (relative to `first`).
    ending: &'p [Vec<usize>],
    first: usize,
    /// The section where the piece ends (every buffer has ended).
    last: usize,
    base: u64,
    height: u64,
    /// Buffers not yet put on a side, by end section (relative to `first`).
    pending: Vec<u32>,
    /// Bytes of the lower set ending at each section (relative to `first`).
    dropped: Vec<u64>,
    /// The subset sums of the sizes of the buffers starting at each section (relative to `first`; `None` where
    /// none starts or there are too many sums).
    sums: Vec<Option<Vec<u64>>>,
}

impl Cut<'_> {
    /// Whether the lower set's bytes ending at section `first + e` can still be replaced there, once every buffer
    /// ending there is on a side: by a subset of the buffers starting there (zero bytes where none starts).
    fn refillable(&self, e: usize) -> bool {
        if self.pending[e] > 0 || self.first + e >= self.last {
            return true;
        }
        match &self.sums[e] {
            Some(sums) => sums.binary_search(&self.dropped[e]).is_ok(),
            None => self.dropped[e] == 0 || self.starts.iter().any(|&(s, _)| s == self.first + e),
        }
    }
}

/// The distinct sums of the subsets of `sizes`, sorted, or `None` when there are more than [`HEIGHTS_LIMIT`].
fn subset_sums(sizes: impl Iterator<Item = u64>) -> Option<Vec<u64>> {
    let mut sums: Vec<u64> = vec![0];
    for size in sizes {
        let mut next: Vec<u64> = sums.iter().map(|&s| s + size).collect();
        next.extend_from_slice(&sums);
        next.sort_unstable();
        next.dedup();
        if next.len() > HEIGHTS_LIMIT {
            return None;
        }
        sums = next;
    }
    Some(sums)
}
