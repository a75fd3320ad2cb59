//! The image every layer exchanges: 8-bit RGB over a white background plus a foreground mask.

use std::path::{Path, PathBuf};

/// Why a [`MaskedImage`] could not be built, read or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Buffer sizes that do not match the dimensions.
    #[error("{0}")]
    Invalid(String),
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a decodable image.
    #[error("{}: {msg}", path.display())]
    Decode {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}

impl ImageError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

type Result<T, E = ImageError> = std::result::Result<T, E>;

/// An RGB image with a binary foreground mask.
///
/// On disk it is an RGBA PNG whose alpha channel is the mask (255 = foreground, 0 = background);
/// the RGB channels always hold the final colour over the background, so dropping alpha loses
/// nothing. Invariants: `rgb.len() == 3·w·h`, `mask.len() == w·h`, mask values are 0 or 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedImage {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
    mask: Vec<u8>,
}

impl MaskedImage {
    /// Builds an image, checking buffer sizes; mask values are binarized (≥ 128 → 255).
    pub fn new(width: usize, height: usize, rgb: Vec<u8>, mut mask: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 || rgb.len() != width * height * 3 || mask.len() != width * height {
            return Err(ImageError::Invalid(format!(
                "image {width}x{height} needs {} RGB bytes and {} mask bytes, got {} and {}",
                width * height * 3,
                width * height,
                rgb.len(),
                mask.len()
            )));
        }
        mask.iter_mut().for_each(|m| *m = if *m >= 128 { 255 } else { 0 });
        Ok(MaskedImage {
            width,
            height,
            rgb,
            mask,
        })
    }
    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }
    /// RGB bytes, row-major from the top-left pixel.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }
    /// Mask bytes (0 or 255), row-major.
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }
    /// Fraction of foreground pixels.
    pub fn coverage(&self) -> f64 {
        self.mask.iter().filter(|&&m| m > 0).count() as f64 / self.mask.len() as f64
    }
    /// Interleaved RGBA with the mask as alpha.
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.mask.len() * 4);
        for (c, m) in self.rgb.chunks_exact(3).zip(&self.mask) {
            out.extend_from_slice(&[c[0], c[1], c[2], *m]);
        }
        out
    }

    /// Encodes as an RGBA PNG into `w`, marked as neuvis's ([`encode_png`]).
    pub fn write_png(&self, w: impl std::io::Write) -> std::result::Result<(), image::ImageError> {
        encode_png(w, &self.to_rgba(), self.width, self.height, 4)
    }

    /// Writes an RGBA PNG atomically (temporary file in the same directory, then rename).
    pub fn save_png(&self, path: &Path) -> Result<()> {
        crate::fs::write_atomic(path, |f| {
            self.write_png(f).map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| ImageError::io(path, e))
    }

    /// The width and height an image file declares, read from its header without decoding the
    /// pixels (what a streaming reader checks up front).
    pub fn png_dimensions(path: &Path) -> Result<(usize, usize)> {
        let reader = image::ImageReader::open(path)
            .map_err(|e| ImageError::io(path, e))?
            .with_guessed_format()
            .map_err(|e| ImageError::io(path, e))?;
        let (w, h) = reader.into_dimensions().map_err(|e| ImageError::Decode {
            path: path.to_path_buf(),
            msg: format!("cannot read the image header: {e}"),
        })?;
        Ok((w as usize, h as usize))
    }

    /// Reads a PNG. RGBA: alpha is the mask. RGB or grey without alpha: every pixel is foreground
    /// except pure white ones (the background colour), which is how other tools' renders are read.
    pub fn load_png(path: &Path) -> Result<Self> {
        // what the header claims is bounded by the file: DEFLATE expands at most 1032:1, and the
        // decoded RGBA copy needs as much again
        let len = std::fs::metadata(path).map_err(|e| ImageError::io(path, e))?.len();
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(
            len.saturating_mul(1032)
                .saturating_add(1 << 20)
                .min(crate::mem::available_memory() / 2),
        );
        let mut reader = image::ImageReader::open(path)
            .map_err(|e| ImageError::io(path, e))?
            .with_guessed_format()
            .map_err(|e| ImageError::io(path, e))?;
        reader.limits(limits);
        let img = reader.decode().map_err(|e| ImageError::Decode {
            path: path.to_path_buf(),
            msg: format!("cannot decode image: {e}"),
        })?;
        let has_alpha = img.color().has_alpha();
        let rgba = img.to_rgba8();
        let (w, h) = (rgba.width() as usize, rgba.height() as usize);
        let mut rgb = Vec::with_capacity(w * h * 3);
        let mut mask = Vec::with_capacity(w * h);
        for p in rgba.pixels() {
            rgb.extend_from_slice(&p.0[..3]);
            let fg = if has_alpha {
                p.0[3] >= 128
            } else {
                p.0[..3] != [255, 255, 255]
            };
            mask.push(if fg { 255 } else { 0 });
        }
        MaskedImage::new(w, h, rgb, mask)
    }
}

/// Encodes 8-bit pixels (`channels` 3: RGB, 4: RGBA, row-major) as a PNG into `w`, with the
/// compression and filtering of the `image` crate's defaults and a `tEXt` chunk `Software: neuvis
/// <version>` before the image data: the mark by which `--overwrite` knows a PNG neuvis wrote
/// ([`crate::fs::PNG_MARK`]).
pub fn encode_png(
    w: impl std::io::Write,
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> std::result::Result<(), image::ImageError> {
    let err = |e: png::EncodingError| image::ImageError::IoError(std::io::Error::other(e.to_string()));
    let color = match channels {
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        _ => {
            return Err(image::ImageError::IoError(std::io::Error::other(
                "PNG: 3 or 4 channels",
            )))
        }
    };
    if pixels.len() != width * height * channels {
        return Err(image::ImageError::IoError(std::io::Error::other(format!(
            "PNG: {} bytes for {width}×{height}×{channels}",
            pixels.len()
        ))));
    }
    let mut enc = png::Encoder::new(w, width as u32, height as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    enc.set_filter(png::Filter::Adaptive);
    enc.add_text_chunk("Software".into(), format!("neuvis {}", env!("CARGO_PKG_VERSION")))
        .map_err(err)?;
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(pixels).map_err(err)?;
    writer.finish().map_err(err)
}
