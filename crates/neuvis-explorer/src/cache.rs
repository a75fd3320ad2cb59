//! A least-recently-used cache bounded by bytes, not entries.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// An LRU map whose capacity is a byte budget: every entry declares its size, and inserting evicts
/// the least recently used entries until the total fits. An entry larger than the whole budget is
/// not stored.
#[derive(Debug)]
pub struct ByteLru<K, V> {
    capacity: usize,
    used: usize,
    tick: u64,
    map: HashMap<K, (V, usize, u64)>,
    order: BTreeMap<u64, K>,
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
        }
    }

    /// The value for `k`, marking it most recently used.
    pub fn get(&mut self, k: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (v, _, t) = self.map.get_mut(k)?;
        self.order.remove(t);
        *t = tick;
        self.order.insert(tick, k.clone());
        Some(v.clone())
    }

    /// Whether `k` is cached (does not change the order).
    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// Stores `v` of `bytes` bytes under `k`, evicting least recently used entries as needed.
    /// Returns false (and stores nothing) when `bytes` exceeds the capacity.
    pub fn insert(&mut self, k: K, v: V, bytes: usize) -> bool {
        if let Some((_, b, t)) = self.map.remove(&k) {
            self.order.remove(&t);
            self.used -= b;
        }
        if bytes > self.capacity {
            return false;
        }
        while self.used + bytes > self.capacity {
            let Some((_, old)) = self.order.pop_first() else { break };
            if let Some((_, b, _)) = self.map.remove(&old) {
                self.used -= b;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, k.clone());
        self.map.insert(k, (v, bytes, self.tick));
        self.used += bytes;
        true
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
    }
}
