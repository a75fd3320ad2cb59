//! The byte-bounded LRU brick cache.

use std::collections::HashMap;
use std::sync::Arc;

/// A decoded brick shared between the cache and the rays using it.
pub type BrickData = Arc<Vec<f32>>;

/// Cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups that found the brick.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Bricks inserted.
    pub inserts: u64,
    /// Bricks evicted.
    pub evictions: u64,
    /// Largest number of bytes ever held.
    pub peak_bytes: usize,
}

/// An LRU cache of bricks that never holds more than `budget` bytes of brick samples.
#[derive(Debug)]
pub struct BrickCache {
    budget: usize,
    used: usize,
    clock: u64,
    map: HashMap<u32, (BrickData, u64)>,
    /// Counters.
    pub stats: CacheStats,
}

impl BrickCache {
    /// An empty cache bounded by `budget` bytes.
    pub fn new(budget: usize) -> BrickCache {
        BrickCache {
            budget,
            used: 0,
            clock: 0,
            map: HashMap::new(),
            stats: CacheStats::default(),
        }
    }
    /// The byte budget.
    pub fn budget(&self) -> usize {
        self.budget
    }
    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used
    }
    /// Bricks held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Whether brick `id` is held (no counters, no recency change).
    pub fn contains(&self, id: u32) -> bool {
        self.map.contains_key(&id)
    }
    /// Looks `id` up, counting a hit or a miss and refreshing its recency.
    pub fn get(&mut self, id: u32) -> Option<BrickData> {
        self.clock += 1;
        match self.map.get_mut(&id) {
            Some((d, t)) => {
                *t = self.clock;
                self.stats.hits += 1;
                Some(d.clone())
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }
    /// Marks `id` as just used (no counters).
    pub fn touch(&mut self, id: u32) {
        self.clock += 1;
        if let Some((_, t)) = self.map.get_mut(&id) {
            *t = self.clock;
        }
    }
    /// A snapshot of the held bricks for lock-free reading during a pass.
    pub fn snapshot(&self) -> HashMap<u32, BrickData> {
        self.map.iter().map(|(k, (d, _))| (*k, d.clone())).collect()
    }
    /// Inserts a brick, evicting least-recently-used bricks until it fits. Returns false (and
    /// inserts nothing) when the brick alone exceeds the budget.
    pub fn insert(&mut self, id: u32, data: BrickData) -> bool {
        let size = data.len() * 4;
        if size > self.budget {
            return false;
        }
        if let Some((old, _)) = self.map.remove(&id) {
            self.used -= old.len() * 4;
        }
        while self.used + size > self.budget {
            let (&victim, _) = self
                .map
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .expect("cache holds something");
            let (d, _) = self.map.remove(&victim).expect("present");
            self.used -= d.len() * 4;
            self.stats.evictions += 1;
        }
        self.clock += 1;
        self.map.insert(id, (data, self.clock));
        self.used += size;
        self.stats.inserts += 1;
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.used);
        true
    }
}
