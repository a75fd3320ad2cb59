//! Canonical Huffman coding of quantized weights (NeRVI §3.3).
//!
//! Only code lengths are stored; codes are assigned canonically (sorted by length, then symbol),
//! written most significant bit first. Lengths are limited to [`MAX_LEN`] bits by halving the
//! counts and rebuilding, which never happens for realistic weight histograms but keeps the
//! decoder's state bounded for any input.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Longest code we emit or accept.
pub const MAX_LEN: u8 = 30;

/// A canonical Huffman code over `u16` symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// `(symbol, length)` for every symbol that has a code, sorted by symbol.
    pub lengths: Vec<(u16, u8)>,
}

/// Why a code table or bit stream is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HuffmanError {
    /// The stored lengths do not form a valid prefix code.
    #[error("invalid Huffman table: {0}")]
    Table(String),
    /// The bit stream ended or held a bit pattern with no symbol.
    #[error("corrupt Huffman stream: {0}")]
    Stream(String),
}

fn lengths_from_counts(counts: &[(u16, u64)]) -> Vec<(u16, u8)> {
    if counts.len() == 1 {
        return vec![(counts[0].0, 1)];
    }
    // nodes: leaves 0..n, internal nodes appended; parent links give depths
    let n = counts.len();
    let mut parent = vec![usize::MAX; 2 * n];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = counts
        .iter()
        .enumerate()
        .map(|(i, &(_, c))| Reverse((c.max(1), i)))
        .collect();
    let mut next = n;
    while heap.len() > 1 {
        let Reverse((ca, a)) = heap.pop().expect("two nodes");
        let Reverse((cb, b)) = heap.pop().expect("two nodes");
        parent[a] = next;
        parent[b] = next;
        heap.push(Reverse((ca + cb, next)));
        next += 1;
    }
    let root = next - 1;
    let mut depth = vec![0u8; next];
    for i in (0..root).rev() {
        depth[i] = depth[parent[i]].saturating_add(1);
    }
    counts.iter().enumerate().map(|(i, &(s, _))| (s, depth[i])).collect()
}

impl Code {
    /// Builds an optimal code (length-limited to [`MAX_LEN`]) for the symbol counts.
    ///
    /// # Panics
    /// Panics if `symbols` is empty.
    pub fn from_symbols(symbols: &[u16]) -> Code {
        assert!(!symbols.is_empty(), "no symbols to code");
        let mut hist = vec![0u64; 1 << 16];
        for &s in symbols {
            hist[s as usize] += 1;
        }
        let mut counts: Vec<(u16, u64)> = hist
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(s, &c)| (s as u16, c))
            .collect();
        loop {
            let lengths = lengths_from_counts(&counts);
            if lengths.iter().all(|&(_, l)| l <= MAX_LEN) {
                let mut lengths = lengths;
                lengths.sort_unstable();
                return Code { lengths };
            }
            counts.iter_mut().for_each(|c| c.1 = (c.1 / 2).max(1));
        }
    }

    /// Checks that lengths are in `1..=MAX_LEN`, symbols unique, and the code is prefix-free and
    /// not over-full (Kraft sum ≤ 1).
    pub fn validate(&self) -> Result<(), HuffmanError> {
        if self.lengths.is_empty() {
            return Err(HuffmanError::Table("no symbols".into()));
        }
        let mut kraft = 0u64;
        for w in self.lengths.windows(2) {
            if w[0].0 >= w[1].0 {
                return Err(HuffmanError::Table("symbols not strictly increasing".into()));
            }
        }
        for &(_, l) in &self.lengths {
            if l == 0 || l > MAX_LEN {
                return Err(HuffmanError::Table(format!("code length {l} outside 1..={MAX_LEN}")));
            }
            kraft += 1u64 << (MAX_LEN - l);
        }
        if kraft > 1u64 << MAX_LEN {
            return Err(HuffmanError::Table(
                "code lengths are over-subscribed (Kraft sum > 1)".into(),
            ));
        }
        Ok(())
    }

    /// Canonical codes: `(symbol, code, length)` sorted by (length, symbol).
    fn canonical(&self) -> Vec<(u16, u32, u8)> {
        let mut by_len: Vec<(u8, u16)> = self.lengths.iter().map(|&(s, l)| (l, s)).collect();
        by_len.sort_unstable();
        let mut out = Vec::with_capacity(by_len.len());
        let mut code = 0u32;
        let mut prev = by_len.first().map(|p| p.0).unwrap_or(1);
        for (i, &(l, s)) in by_len.iter().enumerate() {
            if i > 0 {
                code = (code + 1) << (l - prev);
            } else {
                code = 0;
            }
            prev = l;
            out.push((s, code, l));
        }
        out
    }

    /// Encodes `symbols` (each must have a code) as an MSB-first bit stream; returns the bytes
    /// and the number of bits.
    ///
    /// # Panics
    /// Panics if a symbol has no code.
    pub fn encode(&self, symbols: &[u16]) -> (Vec<u8>, u64) {
        let mut table = vec![(0u32, 0u8); 1 << 16];
        for (s, c, l) in self.canonical() {
            table[s as usize] = (c, l);
        }
        let mut out = Vec::with_capacity(symbols.len());
        let (mut acc, mut n, mut bits) = (0u64, 0u32, 0u64);
        for &s in symbols {
            let (c, l) = table[s as usize];
            assert!(l > 0, "symbol {s} has no code");
            acc = (acc << l) | c as u64;
            n += l as u32;
            bits += l as u64;
            while n >= 8 {
                out.push((acc >> (n - 8)) as u8);
                n -= 8;
            }
            acc &= (1u64 << n) - 1;
        }
        if n > 0 {
            out.push((acc << (8 - n)) as u8);
        }
        (out, bits)
    }

    /// Decodes exactly `count` symbols from the first `bits` bits of `data`.
    pub fn decode(&self, data: &[u8], bits: u64, count: usize) -> Result<Vec<u16>, HuffmanError> {
        self.validate()?;
        if bits > data.len() as u64 * 8 {
            return Err(HuffmanError::Stream(format!(
                "{bits} bits claimed but only {} bytes present",
                data.len()
            )));
        }
        let canon = self.canonical();
        // per length: first code, index of first symbol, count
        let mut first = [0u32; MAX_LEN as usize + 1];
        let mut start = [0usize; MAX_LEN as usize + 1];
        let mut num = [0usize; MAX_LEN as usize + 1];
        for (i, &(_, c, l)) in canon.iter().enumerate() {
            if num[l as usize] == 0 {
                first[l as usize] = c;
                start[l as usize] = i;
            }
            num[l as usize] += 1;
        }
        let mut out = Vec::with_capacity(count.min(1 << 28));
        let mut pos = 0u64;
        while out.len() < count {
            let mut code = 0u32;
            let mut len = 0usize;
            loop {
                if pos >= bits {
                    return Err(HuffmanError::Stream(format!(
                        "stream ends after {} of {count} symbols",
                        out.len()
                    )));
                }
                let bit = (data[(pos / 8) as usize] >> (7 - pos % 8)) & 1;
                pos += 1;
                code = (code << 1) | bit as u32;
                len += 1;
                if len > MAX_LEN as usize {
                    return Err(HuffmanError::Stream("bit pattern matches no code".into()));
                }
                if num[len] > 0 && code >= first[len] && ((code - first[len]) as usize) < num[len] {
                    out.push(canon[start[len] + (code - first[len]) as usize].0);
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuvis_base::SplitMix64;

    #[test]
    fn round_trips_random_streams() {
        let mut rng = SplitMix64(99);
        for trial in 0..30 {
            let alphabet = 1 + (rng.next_u64() % 600) as u16;
            let n = 1 + (rng.next_u64() % 5000) as usize;
            // skewed: squares of uniforms concentrate on small symbols, like quantized weights
            let syms: Vec<u16> = (0..n)
                .map(|_| (rng.uniform(0.0, 1.0).powi(3) * alphabet as f64) as u16)
                .collect();
            let code = Code::from_symbols(&syms);
            code.validate().unwrap();
            let (bytes, bits) = code.encode(&syms);
            assert_eq!(bytes.len() as u64, bits.div_ceil(8), "trial {trial}");
            assert_eq!(code.decode(&bytes, bits, n).unwrap(), syms, "trial {trial}");
        }
    }

    #[test]
    fn single_symbol_and_entropy_bound() {
        let syms = vec![7u16; 100];
        let code = Code::from_symbols(&syms);
        assert_eq!(code.lengths, vec![(7, 1)]);
        let (b, bits) = code.encode(&syms);
        assert_eq!(bits, 100);
        assert_eq!(code.decode(&b, bits, 100).unwrap(), syms);
        // dyadic distribution 1/2, 1/4, 1/8, 1/8: Huffman reaches the entropy, 1.75 bits/symbol
        let syms: Vec<u16> = [0u16; 4]
            .iter()
            .chain(&[1, 1])
            .chain(&[2, 3])
            .cloned()
            .cycle()
            .take(8000)
            .collect();
        let code = Code::from_symbols(&syms);
        assert_eq!(code.encode(&syms).1, 14000);
    }

    #[test]
    fn bad_tables_and_streams_are_errors() {
        let over = Code {
            lengths: vec![(0, 1), (1, 1), (2, 1)],
        };
        assert!(over.validate().is_err());
        assert!(Code { lengths: vec![(0, 0)] }.validate().is_err());
        assert!(
            Code {
                lengths: vec![(3, 2), (1, 2)]
            }
            .validate()
            .is_err(),
            "unsorted"
        );
        let code = Code::from_symbols(&[1, 2, 2, 3, 3, 3, 3]);
        let (b, bits) = code.encode(&[1, 2, 3]);
        assert!(code.decode(&b, bits, 4).is_err(), "asks for more symbols than coded");
        assert!(code.decode(&b, 1000, 3).is_err(), "claims more bits than bytes");
        // incomplete code: a pattern with no symbol
        let sparse = Code { lengths: vec![(5, 2)] };
        assert!(sparse.decode(&[0xFF], 8, 1).is_err());
    }
}
