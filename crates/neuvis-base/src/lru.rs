//! A least-recently-used cache bounded by bytes, not entries: the explorer's frame cache and the
//! raycaster's brick cache.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Counters of a [`ByteLru`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LruStats {
    /// Lookups that found the entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries inserted.
    pub inserts: u64,
    /// Entries evicted to make room.
    pub evictions: u64,
    /// Largest number of bytes ever held.
    pub peak_bytes: usize,
}

/// An LRU map whose capacity is a byte budget: every entry declares its size, and inserting evicts
/// the least recently used entries until the total fits. An entry larger than the whole budget is
/// not stored. Eviction finds the oldest entry in O(log n) (a recency index beside the map).
///
/// ```
/// use neuvis_base::lru::ByteLru;
/// let mut c = ByteLru::new(100);
/// assert!(c.insert("a", 1, 60));
/// assert!(c.insert("b", 2, 30));
/// assert_eq!(c.get(&"a"), Some(1)); // a is now newer than b
/// assert!(c.insert("c", 3, 30)); // evicts b, the least recently used
/// assert!(!c.contains(&"b") && c.used() == 90);
/// ```
#[derive(Debug)]
pub struct ByteLru<K, V> {
    capacity: usize,
    used: usize,
    tick: u64,
    map: HashMap<K, (V, usize, u64)>,
    order: BTreeMap<u64, K>,
    /// Counters.
    pub stats: LruStats,
}

impl<K: Hash + Eq + Clone, V: Clone> ByteLru<K, V> {
    /// An empty cache holding at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ByteLru {
            capacity,
            used: 0,
            tick: 0,
            map: HashMap::new(),
            order: BTreeMap::new(),
            stats: LruStats::default(),
        }
    }

    /// The value for `k`, marking it most recently used and counting a hit or a miss.
    pub fn get(&mut self, k: &K) -> Option<V> {
        let v = self.touch(k).then(|| self.map.get(k).map(|e| e.0.clone())).flatten();
        if v.is_some() {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        v
    }

    /// Marks `k` as most recently used without counting; returns whether it is held.
    pub fn touch(&mut self, k: &K) -> bool {
        self.tick += 1;
        let tick = self.tick;
        let Some((_, _, t)) = self.map.get_mut(k) else {
            return false;
        };
        self.order.remove(t);
        *t = tick;
        self.order.insert(tick, k.clone());
        true
    }

    /// Whether `k` is cached (does not change the order or the counters).
    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// Stores `v` of `bytes` bytes under `k`, evicting least recently used entries as needed.
    /// Returns false (and changes nothing) when `bytes` exceeds the capacity.
    pub fn insert(&mut self, k: K, v: V, bytes: usize) -> bool {
        if bytes > self.capacity {
            return false;
        }
        if let Some((_, b, t)) = self.map.remove(&k) {
            self.order.remove(&t);
            self.used -= b;
        }
        while self.used + bytes > self.capacity {
            let Some((_, old)) = self.order.pop_first() else { break };
            if let Some((_, b, _)) = self.map.remove(&old) {
                self.used -= b;
                self.stats.evictions += 1;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, k.clone());
        self.map.insert(k, (v, bytes, self.tick));
        self.used += bytes;
        self.stats.inserts += 1;
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.used);
        true
    }

    /// Every entry, in no particular order (no recency change).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, (v, _, _))| (k, v))
    }

    /// Bytes held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The byte budget.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let mut c = ByteLru::new(100);
        assert!(c.insert("a", 1, 40));
        assert!(c.insert("b", 2, 40));
        assert_eq!(c.get(&"a"), Some(1)); // a is now newer than b
        assert!(c.insert("c", 3, 40)); // evicts b
        assert_eq!(c.get(&"b"), None);
        assert_eq!(c.get(&"a"), Some(1));
        assert_eq!(c.get(&"c"), Some(3));
        assert_eq!(c.used(), 80);
        assert!(!c.insert("huge", 9, 101));
        assert_eq!(c.len(), 2);
        assert!(c.insert("d", 4, 100)); // evicts everything else
        assert_eq!(c.len(), 1);
        assert_eq!(c.used(), 100);
        assert!(c.insert("d", 5, 10)); // replacing frees the old size
        assert_eq!(c.used(), 10);
        assert_eq!(c.get(&"d"), Some(5));
        assert!(!c.insert("d", 6, 101)); // too large: the old entry stays
        assert_eq!(c.get(&"d"), Some(5));
        assert_eq!(
            c.stats,
            LruStats {
                hits: 5,
                misses: 1,
                inserts: 5,
                evictions: 3,
                peak_bytes: 100
            }
        );
    }

    #[test]
    fn touch_refreshes_without_counting() {
        let mut c = ByteLru::new(2);
        c.insert(1, (), 1);
        c.insert(2, (), 1);
        assert!(c.touch(&1));
        assert!(!c.touch(&9));
        c.insert(3, (), 1); // evicts 2, not the touched 1
        assert!(c.contains(&1) && !c.contains(&2));
        assert_eq!((c.stats.hits, c.stats.misses), (0, 0));
    }
}
