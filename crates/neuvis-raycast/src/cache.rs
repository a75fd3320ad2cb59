//! The byte-bounded LRU brick cache: `neuvis_base::lru::ByteLru` keyed by brick id, sized by the
//! bytes of each brick's samples.

use neuvis_base::lru::ByteLru;
use std::collections::HashMap;
use std::sync::Arc;

/// A decoded brick shared between the cache and the rays using it.
pub type BrickData = Arc<Vec<f32>>;

/// Cache counters.
pub type CacheStats = neuvis_base::lru::LruStats;

/// An LRU cache of bricks that never holds more than `budget` bytes of brick samples.
#[derive(Debug)]
pub struct BrickCache {
    lru: ByteLru<u32, BrickData>,
}

impl BrickCache {
    /// An empty cache bounded by `budget` bytes.
    pub fn new(budget: usize) -> BrickCache {
        BrickCache {
            lru: ByteLru::new(budget),
        }
    }
    /// The byte budget.
    pub fn budget(&self) -> usize {
        self.lru.capacity()
    }
    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.lru.used()
    }
    /// Bricks held now.
    pub fn len(&self) -> usize {
        self.lru.len()
    }
    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.lru.is_empty()
    }
    /// Whether brick `id` is held (no counters, no recency change).
    pub fn contains(&self, id: u32) -> bool {
        self.lru.contains(&id)
    }
    /// Looks `id` up, counting a hit or a miss and refreshing its recency.
    pub fn get(&mut self, id: u32) -> Option<BrickData> {
        self.lru.get(&id)
    }
    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.lru.stats
    }
    /// The counters, for a caller that looks bricks up in a snapshot and reports its own hits
    /// and misses.
    pub fn stats_mut(&mut self) -> &mut CacheStats {
        &mut self.lru.stats
    }
    /// Marks `id` as just used (no counters).
    pub fn touch(&mut self, id: u32) {
        self.lru.touch(&id);
    }
    /// A snapshot of the held bricks for lock-free reading during a pass.
    pub fn snapshot(&self) -> HashMap<u32, BrickData> {
        self.lru.iter().map(|(k, d)| (*k, d.clone())).collect()
    }
    /// Inserts a brick, evicting least-recently-used bricks until it fits. Returns false (and
    /// inserts nothing) when the brick alone exceeds the budget.
    pub fn insert(&mut self, id: u32, data: BrickData) -> bool {
        let size = data.len() * 4;
        self.lru.insert(id, data, size)
    }
}
