//! ZFP fixed-rate compression of bricks (the compressed-volume-rendering baseline), through
//! `zfp-sys` (LLNL's zfp, built with cmake).
//!
//! Fixed-rate mode makes every brick's compressed size a known function of its shape and rate,
//! so a damaged length is caught before zfp reads a byte, and bricks can be decoded
//! independently.
//!
//! Optional: build with the `zfp` feature (`cargo build --release -p neuvis --features zfp`; needs
//! `cmake` and `libclang-dev`). Without it the functions return `None` and [`AVAILABLE`] is false,
//! so the rest of neuvis builds on a machine with only the Rust toolchain.

#[cfg(feature = "zfp")]
mod imp {
    //! The zfp-sys implementation.
    use std::ffi::c_void;
    use zfp_sys::*;

    /// Whether this build has ZFP.
    pub const AVAILABLE: bool = true;

    /// Compressed size of a `side³` brick at `rate` bits per value.
    pub fn compressed_len(side: usize, rate: f64) -> Option<usize> {
        // SAFETY: the field has a null pointer (only its shape is used) and is freed below; the
        // stream has no bit stream (only its rate is used) and is closed below.
        unsafe {
            let field = zfp_field_3d(std::ptr::null_mut(), zfp_type_zfp_type_float, side, side, side);
            let zs = zfp_stream_open(std::ptr::null_mut());
            zfp_stream_set_rate(zs, rate, zfp_type_zfp_type_float, 3, 0);
            let n = zfp_stream_maximum_size(zs, field);
            zfp_stream_close(zs);
            zfp_field_free(field);
            Some(n)
        }
    }

    /// Runs `op` (zfp's compressor or decompressor) on the `side³` float field at `values` and a
    /// fixed-rate stream over the `cap` bytes at `bytes`, frees every zfp object, and returns what
    /// `op` returned (bytes written or read; 0 on failure).
    ///
    /// # Safety
    /// `values` must point to `side³` floats and `bytes` to `cap` bytes, both valid for reading and
    /// writing as `op` needs, with `cap` at least zfp's maximum size for this field and rate.
    unsafe fn run(
        values: *mut c_void,
        side: usize,
        rate: f64,
        bytes: *mut c_void,
        cap: usize,
        op: unsafe extern "C" fn(*mut zfp_stream, *mut zfp_field) -> usize,
    ) -> usize {
        let field = zfp_field_3d(values, zfp_type_zfp_type_float, side, side, side);
        let zs = zfp_stream_open(std::ptr::null_mut());
        zfp_stream_set_rate(zs, rate, zfp_type_zfp_type_float, 3, 0);
        let bs = stream_open(bytes, cap);
        zfp_stream_set_bit_stream(zs, bs);
        zfp_stream_rewind(zs);
        let n = op(zs, field);
        zfp_field_free(field);
        zfp_stream_close(zs);
        stream_close(bs);
        n
    }

    /// `zfp_compress` with the field pointer type `run` takes (zfp only reads the field).
    unsafe extern "C" fn compress_op(zs: *mut zfp_stream, field: *mut zfp_field) -> usize {
        zfp_compress(zs, field)
    }

    /// Compresses a `side³` brick (x fastest) at `rate` bits per value.
    ///
    /// # Panics
    /// Panics if `data.len() != side³`.
    pub fn compress(data: &[f32], side: usize, rate: f64) -> Option<Vec<u8>> {
        assert_eq!(data.len(), side * side * side);
        let cap = compressed_len(side, rate)?;
        let mut buf = vec![0u8; cap];
        // SAFETY: zfp reads side³ floats from `data` (asserted; the compressor does not write the
        // field) and writes at most `cap` bytes (its own maximum size for this field and rate)
        // into `buf`.
        let n = unsafe {
            run(
                data.as_ptr() as *mut c_void,
                side,
                rate,
                buf.as_mut_ptr() as *mut c_void,
                cap,
                compress_op,
            )
        };
        buf.truncate(n.max(1).min(cap));
        buf.resize(cap, 0);
        Some(buf)
    }

    /// Decompresses a brick written by [`compress`]; `None` if the payload has the wrong length.
    pub fn decompress(payload: &[u8], side: usize, rate: f64) -> Option<Vec<f32>> {
        let cap = compressed_len(side, rate)?;
        if payload.len() != cap {
            return None;
        }
        let mut out = vec![0f32; side * side * side];
        let mut buf = payload.to_vec();
        // SAFETY: the payload holds exactly zfp's maximum size for this field and rate, so the
        // fixed-rate decoder reads within it; it writes side³ floats into `out`.
        let n = unsafe {
            run(
                out.as_mut_ptr() as *mut c_void,
                side,
                rate,
                buf.as_mut_ptr() as *mut c_void,
                cap,
                zfp_decompress,
            )
        };
        (n != 0 && out.iter().all(|v| v.is_finite())).then_some(out)
    }
}
#[cfg(feature = "zfp")]
pub use imp::*;

#[cfg(not(feature = "zfp"))]
mod stub {
    /// Whether this build has ZFP.
    pub const AVAILABLE: bool = false;

    /// Compressed size of a brick; `None`: this build has no ZFP.
    pub fn compressed_len(_side: usize, _rate: f64) -> Option<usize> {
        None
    }

    /// Compresses a brick; `None`: this build has no ZFP.
    pub fn compress(_data: &[f32], _side: usize, _rate: f64) -> Option<Vec<u8>> {
        None
    }

    /// Decompresses a brick; `None`: this build has no ZFP.
    pub fn decompress(_payload: &[u8], _side: usize, _rate: f64) -> Option<Vec<f32>> {
        None
    }
}
#[cfg(not(feature = "zfp"))]
pub use stub::*;
