//! Composing a frame: final hits over provisional ones over the white background.

use neuvis_base::MaskedImage;

/// Packs a colour as `0xFF_RR_GG_BB` (0 = no colour).
pub(super) fn pack(c: Option<[f32; 3]>) -> u32 {
    match c {
        None => 0,
        Some(c) => {
            let q = c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u32);
            0xFF00_0000 | (q[0] << 16) | (q[1] << 8) | q[2]
        }
    }
}

pub(crate) fn compose(w: usize, h: usize, color: &[u32], prov: &[u32]) -> MaskedImage {
    let mut rgb = vec![255u8; w * h * 3];
    let mut mask = vec![0u8; w * h];
    for p in 0..w * h {
        let c = if color[p] != 0 { color[p] } else { prov[p] };
        if c != 0 {
            rgb[3 * p] = (c >> 16) as u8;
            rgb[3 * p + 1] = (c >> 8) as u8;
            rgb[3 * p + 2] = c as u8;
            mask[p] = 255;
        }
    }
    MaskedImage::new(w, h, rgb, mask).expect("sizes match")
}
