//! What burn's CUDA backend needs at run time, found before it is asked for (the finding works in
//! every build; only builds with the `cuda` feature open CUDA devices).
//!
//! The build needs no CUDA toolkit: cudarc loads the driver (`libcuda.so.1`) and NVRTC
//! (`libnvrtc.so.13` or `.12`) when the first CUDA device opens, and cubecl-cuda hands NVRTC the
//! CUDA headers from `$CUDA_PATH/include` (else `/usr/local/cuda`, `/opt/cuda`). Where any of these
//! is missing, cudarc and cubecl panic; [`prepare`] looks first and turns a missing piece into an
//! error that says how to install it, and [`probe`] reports each piece for `neuvis devices`.
//!
//! NVRTC and the headers also come as PyPI wheels (`pip install nvidia-cuda-nvrtc
//! nvidia-cuda-runtime nvidia-cuda-crt nvidia-cuda-cccl`, the CUDA 13 ones; `-cu12` for CUDA 12),
//! the kind PyTorch installs. [`compile_test_kernel`] checks them without a GPU. Their libraries are not on the loader's search path and their headers are
//! split across packages, so [`prepare`] loads NVRTC from the wheel by its full path (cudarc's own
//! load by name then finds the library already in the process) and, when no `CUDA_PATH` is set and
//! no toolkit is installed, gathers the wheels' include folders under one folder of neuvis's cache
//! (`$XDG_CACHE_HOME/neuvis/cuda/include`, links only) and points `CUDA_PATH` there.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// NVRTC's library names, newest first: cudarc (built for the CUDA 13.0 API) loads either.
const NVRTC_NAMES: [&str; 2] = ["libnvrtc.so.13", "libnvrtc.so.12"];

/// One piece of the CUDA run time: where it was found, or why not and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// What it is ("driver", "NVRTC", "headers").
    pub what: &'static str,
    /// `Ok(description)` where found (path, version), `Err(how to get it)` where not.
    pub found: Result<String, String>,
}

/// One CUDA device the driver lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaDevice {
    /// Its name ("NVIDIA H100 80GB HBM3").
    pub name: String,
    /// Compute capability (major, minor): (9, 0) for Hopper.
    pub capability: (i32, i32),
}

/// Everything [`probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Driver, NVRTC and headers, in that order.
    pub pieces: Vec<Piece>,
    /// The CUDA devices the driver lists, empty without a driver.
    pub devices: Vec<CudaDevice>,
}

impl Report {
    /// Whether `--device cuda` can open: every piece found and at least one device.
    pub fn ready(&self) -> bool {
        self.pieces.iter().all(|p| p.found.is_ok()) && !self.devices.is_empty()
    }

    /// The first thing missing, as a sentence, or `None` when [`Report::ready`].
    pub fn missing(&self) -> Option<String> {
        if let Some(p) = self.pieces.iter().find(|p| p.found.is_err()) {
            return Some(format!("no CUDA {}: {}", p.what, p.found.as_ref().unwrap_err()));
        }
        self.devices
            .is_empty()
            .then(|| "the NVIDIA driver lists no CUDA device".to_string())
    }
}

/// A library opened with `dlopen` and kept open for the life of the process.
struct Lib(*mut c_void);
// SAFETY: a dlopen handle is process-wide and may be used from any thread.
unsafe impl Send for Lib {}
unsafe impl Sync for Lib {}

impl Lib {
    /// Opens `name` (a soname, searched as the loader does, or a path) globally, so that a later
    /// `dlopen` by the same soname returns this library.
    fn open(name: &str) -> Option<Lib> {
        let c = CString::new(name).ok()?;
        // SAFETY: `c` is a valid NUL-terminated string; the handle is never closed.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        (!h.is_null()).then_some(Lib(h))
    }

    /// The address of `symbol`, or `None`.
    fn sym(&self, symbol: &str) -> Option<*mut c_void> {
        let c = CString::new(symbol).ok()?;
        // SAFETY: the handle is open; `c` is NUL-terminated.
        let p = unsafe { libc::dlsym(self.0, c.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    /// The file the loader resolved this library to (through one of its symbols).
    fn path(&self, symbol: &str) -> Option<PathBuf> {
        let p = self.sym(symbol)?;
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: `p` is a symbol address inside a loaded object; `info` is writable.
        if unsafe { libc::dladdr(p, &mut info) } == 0 || info.dli_fname.is_null() {
            return None;
        }
        // SAFETY: dladdr filled a NUL-terminated path owned by the loader.
        let s = unsafe { CStr::from_ptr(info.dli_fname) };
        Some(PathBuf::from(s.to_string_lossy().into_owned()))
    }
}

type CuInit = unsafe extern "C" fn(u32) -> c_int;
type CuGetInt = unsafe extern "C" fn(*mut c_int) -> c_int;
type CuDeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
type CuDeviceGetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
type CuDeviceGetAttribute = unsafe extern "C" fn(*mut c_int, c_int, c_int) -> c_int;
type NvrtcVersion = unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int;
type NvrtcCreate = unsafe extern "C" fn(
    *mut *mut c_void,
    *const c_char,
    *const c_char,
    c_int,
    *const *const c_char,
    *const *const c_char,
) -> c_int;
type NvrtcCompile = unsafe extern "C" fn(*mut c_void, c_int, *const *const c_char) -> c_int;
type NvrtcSize = unsafe extern "C" fn(*mut c_void, *mut usize) -> c_int;
type NvrtcGet = unsafe extern "C" fn(*mut c_void, *mut c_char) -> c_int;
type NvrtcDestroy = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

/// The driver: its CUDA version and devices, or how to get it.
fn driver() -> (Result<String, String>, Vec<CudaDevice>) {
    static DRIVER: OnceLock<Option<Lib>> = OnceLock::new();
    let Some(lib) = DRIVER.get_or_init(|| Lib::open("libcuda.so.1")).as_ref() else {
        return (
            Err("libcuda.so.1 is not on this machine: install NVIDIA's driver (Debian: \
                 nvidia-driver; it comes with the GPU's driver on clusters)"
                .into()),
            Vec::new(),
        );
    };
    let (Some(init), Some(version), Some(count), Some(get), Some(name), Some(attr)) = (
        lib.sym("cuInit"),
        lib.sym("cuDriverGetVersion"),
        lib.sym("cuDeviceGetCount"),
        lib.sym("cuDeviceGet"),
        lib.sym("cuDeviceGetName"),
        lib.sym("cuDeviceGetAttribute"),
    ) else {
        return (Err("libcuda.so.1 lacks the CUDA driver API".into()), Vec::new());
    };
    // SAFETY: the symbols are the CUDA driver API's, with these C signatures.
    unsafe {
        let init: CuInit = std::mem::transmute(init);
        let version: CuGetInt = std::mem::transmute(version);
        let count: CuGetInt = std::mem::transmute(count);
        let get: CuDeviceGet = std::mem::transmute(get);
        let name: CuDeviceGetName = std::mem::transmute(name);
        let attr: CuDeviceGetAttribute = std::mem::transmute(attr);
        let mut v = 0;
        version(&mut v);
        let at = lib
            .path("cuInit")
            .map(|p| format!(" ({})", p.display()))
            .unwrap_or_default();
        let desc = format!("CUDA {}.{}{at}", v / 1000, (v % 1000) / 10);
        if v < 13000 {
            return (
                Err(format!(
                    "{desc}: this build binds the CUDA 13.0 driver API; update the driver (580 or later)"
                )),
                Vec::new(),
            );
        }
        let rc = init(0);
        if rc != 0 {
            return (Err(format!("{desc}: cuInit failed with CUDA error {rc}")), Vec::new());
        }
        let mut n = 0;
        count(&mut n);
        let mut devs = Vec::new();
        for i in 0..n {
            let mut d = 0;
            if get(&mut d, i) != 0 {
                continue;
            }
            let mut buf = [0 as c_char; 256];
            name(buf.as_mut_ptr(), buf.len() as c_int, d);
            let (mut major, mut minor) = (0, 0);
            // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR
            attr(&mut major, 75, d);
            attr(&mut minor, 76, d);
            let s = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
            devs.push(CudaDevice {
                name: s,
                capability: (major, minor),
            });
        }
        (Ok(desc), devs)
    }
}

/// Folders where pip installs NVIDIA's CUDA wheels (`…/site-packages/nvidia`): those of the
/// active virtual or conda environment, and those the `python3` on the PATH imports.
fn wheel_roots() -> Vec<PathBuf> {
    static ROOTS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = Vec::new();
            for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
                let Some(prefix) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let lib = Path::new(&prefix).join("lib");
                for e in std::fs::read_dir(&lib).into_iter().flatten().flatten() {
                    let p = e.path().join("site-packages").join("nvidia");
                    if p.is_dir() {
                        roots.push(p);
                    }
                }
            }
            let py = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import nvidia, sys; sys.stdout.write('\\n'.join(nvidia.__path__))",
                ])
                .stderr(std::process::Stdio::null())
                .output();
            if let Ok(o) = py {
                if o.status.success() {
                    for line in String::from_utf8_lossy(&o.stdout).lines() {
                        roots.push(PathBuf::from(line.trim()));
                    }
                }
            }
            roots.dedup();
            roots
        })
        .clone()
}

/// `root/*/sub` and `root/*/*/sub` that exist, sorted (the wheels lay out `nvidia/cu13/lib`,
/// `nvidia/cuda_nvrtc/lib`, …).
fn wheel_dirs(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in wheel_roots() {
        let mut level = vec![root];
        for _ in 0..2 {
            let mut next = Vec::new();
            for d in &level {
                for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.join(sub).is_dir() {
                        out.push(p.join(sub));
                    }
                    if p.is_dir() {
                        next.push(p);
                    }
                }
            }
            level = next;
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The toolkit folders cubecl-cuda itself looks in, in its order.
fn toolkit_root() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CUDA_PATH").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    ["/usr/local/cuda", "/opt/cuda"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// NVRTC: loaded (by name, else from a toolkit or a wheel by path), with its version.
fn nvrtc() -> Result<String, String> {
    nvrtc_lib().map(|(_, d)| d)
}

/// The loaded NVRTC and its description.
fn nvrtc_lib() -> Result<(&'static Lib, String), String> {
    static NVRTC: OnceLock<Result<(Lib, String), String>> = OnceLock::new();
    NVRTC
        .get_or_init(|| {
            let mut tried = Vec::new();
            let mut found = NVRTC_NAMES.iter().find_map(|n| Lib::open(n));
            if found.is_none() {
                let mut dirs: Vec<PathBuf> = toolkit_root()
                    .map(|r| vec![r.join("lib64"), r.join("lib")])
                    .unwrap_or_default();
                dirs.extend(wheel_dirs("lib"));
                'dirs: for d in dirs {
                    for n in NVRTC_NAMES {
                        let p = d.join(n);
                        if p.is_file() {
                            // NVRTC loads its builtins library by name: load it first from the
                            // same folder, so the name resolves to it.
                            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                                let f = e.file_name().to_string_lossy().into_owned();
                                if f.starts_with("libnvrtc-builtins.so") {
                                    let _ = Lib::open(&e.path().to_string_lossy());
                                }
                            }
                            found = Lib::open(&p.to_string_lossy());
                            if found.is_some() {
                                break 'dirs;
                            }
                        }
                    }
                    tried.push(d.display().to_string());
                }
            }
            let Some(lib) = found else {
                let looked = if tried.is_empty() {
                    String::new()
                } else {
                    format!(" (looked in {})", tried.join(", "))
                };
                return Err(format!(
                    "{} not found by the loader{looked}: `pip install nvidia-cuda-nvrtc` (CUDA \
                     13; nvidia-cuda-nvrtc-cu12 for CUDA 12), or the CUDA toolkit, or put its \
                     folder on LD_LIBRARY_PATH",
                    NVRTC_NAMES.join(" or ")
                ));
            };
            let mut desc = String::from("NVRTC");
            if let Some(v) = lib.sym("nvrtcVersion") {
                let (mut major, mut minor) = (0, 0);
                // SAFETY: nvrtcVersion(int*, int*) from NVRTC's C API.
                unsafe {
                    let v: NvrtcVersion = std::mem::transmute(v);
                    v(&mut major, &mut minor);
                }
                desc = format!("NVRTC {major}.{minor}");
            }
            if let Some(p) = lib.path("nvrtcVersion") {
                desc = format!("{desc} ({})", p.display());
            }
            Ok((lib, desc))
        })
        .as_ref()
        .map(|(l, d)| (l, d.clone()))
        .map_err(Clone::clone)
}

/// A kernel that includes what cubecl's CUDA C++ includes (half and bfloat16 types, the
/// tensor-core `mma.h`, libcu++'s barriers) and uses the first.
const TEST_KERNEL: &str = r#"#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <mma.h>
#include <cuda/barrier>
extern "C" __global__ void neuvis_probe(float* out, const __half* in, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __half2float(in[i]) * 2.0f;
}
"#;

/// Compiles a test kernel with NVRTC and the CUDA headers found, for `arch` (`compute_90`: PTX for
/// Hopper), as cubecl-cuda passes them (`--include-path` of `include/` and `include/cccl`). Needs
/// no GPU and no driver; returns the size of the PTX produced, or NVRTC's log.
pub fn compile_test_kernel(arch: &str) -> Result<usize, String> {
    let (lib, _) = nvrtc_lib()?;
    headers()?;
    let root = toolkit_root().ok_or("no CUDA_PATH after finding the headers")?;
    let sym = |n: &str| lib.sym(n).ok_or_else(|| format!("NVRTC lacks {n}"));
    let (create, compile, ptx_size, log_size, log, destroy) = (
        sym("nvrtcCreateProgram")?,
        sym("nvrtcCompileProgram")?,
        sym("nvrtcGetPTXSize")?,
        sym("nvrtcGetProgramLogSize")?,
        sym("nvrtcGetProgramLog")?,
        sym("nvrtcDestroyProgram")?,
    );
    let c = |s: String| CString::new(s).map_err(|e| e.to_string());
    let src = c(TEST_KERNEL.to_string())?;
    let name = c("neuvis_probe.cu".to_string())?;
    let opts = [
        c(format!("--gpu-architecture={arch}"))?,
        c(format!("--include-path={}", root.join("include").display()))?,
        c(format!(
            "--include-path={}",
            root.join("include").join("cccl").display()
        ))?,
        c("-std=c++17".to_string())?,
    ];
    let opt_ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
    // SAFETY: NVRTC's C API with valid NUL-terminated strings; the program is destroyed below.
    unsafe {
        let create: NvrtcCreate = std::mem::transmute(create);
        let compile: NvrtcCompile = std::mem::transmute(compile);
        let ptx_size: NvrtcSize = std::mem::transmute(ptx_size);
        let log_size: NvrtcSize = std::mem::transmute(log_size);
        let log: NvrtcGet = std::mem::transmute(log);
        let destroy: NvrtcDestroy = std::mem::transmute(destroy);
        let mut prog: *mut c_void = std::ptr::null_mut();
        let rc = create(
            &mut prog,
            src.as_ptr(),
            name.as_ptr(),
            0,
            std::ptr::null(),
            std::ptr::null(),
        );
        if rc != 0 {
            return Err(format!("nvrtcCreateProgram failed (NVRTC error {rc})"));
        }
        let rc = compile(prog, opt_ptrs.len() as c_int, opt_ptrs.as_ptr());
        let out = if rc == 0 {
            let mut n = 0usize;
            ptx_size(prog, &mut n);
            Ok(n)
        } else {
            let mut n = 0usize;
            log_size(prog, &mut n);
            let mut buf = vec![0 as c_char; n.max(1)];
            log(prog, buf.as_mut_ptr());
            let text = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
            Err(format!(
                "NVRTC could not compile the test kernel (error {rc}): {}",
                text.trim()
            ))
        };
        destroy(&mut prog);
        out
    }
}

/// The headers NVRTC needs to compile cubecl's kernels: half precision, the tensor-core `mma.h`
/// (which includes `crt/mma.h`, shipped apart from the runtime's headers in pip's
/// `nvidia-cuda-crt`) and, for asynchronous copies, libcu++'s `cuda/barrier`.
const HEADERS: [&str; 4] = ["cuda_fp16.h", "mma.h", "crt/mma.h", "cuda/barrier"];

/// What to install for the headers.
const HEADERS_HOW: &str = "`pip install nvidia-cuda-runtime nvidia-cuda-crt nvidia-cuda-cccl` \
    (CUDA 13; the -cu12 packages for CUDA 12), or set CUDA_PATH to a CUDA toolkit";

/// Where `name` is, among `dirs` (and their `cccl` subfolders, as cubecl passes both).
fn find_header(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| [d.clone(), d.join("cccl")])
        .find(|d| d.join(name).exists())
}

/// The CUDA headers: the toolkit's, else the wheels' gathered under neuvis's cache (and
/// `CUDA_PATH` pointed there, for cubecl-cuda).
fn headers() -> Result<String, String> {
    static HEADERS_FOUND: OnceLock<Result<String, String>> = OnceLock::new();
    HEADERS_FOUND
        .get_or_init(|| {
            if let Some(root) = toolkit_root() {
                let inc = root.join("include");
                let missing: Vec<_> = HEADERS
                    .iter()
                    .filter(|h| find_header(std::slice::from_ref(&inc), h).is_none())
                    .collect();
                if missing.is_empty() {
                    return Ok(inc.display().to_string());
                }
                if std::env::var_os("CUDA_PATH").is_some() {
                    return Err(format!(
                        "CUDA_PATH={} lacks {missing:?} under include/: {HEADERS_HOW}",
                        root.display()
                    ));
                }
            }
            let dirs = wheel_dirs("include");
            let mut picked = Vec::new();
            for h in HEADERS {
                match find_header(&dirs, h) {
                    Some(d) => picked.push(d),
                    None => {
                        return Err(format!(
                            "{h} not found (no CUDA toolkit at $CUDA_PATH, /usr/local/cuda or \
                             /opt/cuda; no pip wheel holds it): {HEADERS_HOW}"
                        ))
                    }
                }
            }
            // One wheel (CUDA 13's nvidia/cu13) holds them all under one include/ (libcu++ in
            // its cccl/): point CUDA_PATH at it. Otherwise gather the folders under one.
            let one_root = picked
                .iter()
                .all(|d| d == &picked[0] || d.parent() == Some(picked[0].as_path()) && d.ends_with("cccl"))
                && picked[0].ends_with("include");
            let dir = match picked[0].parent() {
                Some(root) if one_root => root.to_path_buf(),
                _ => gather(&picked)?,
            };
            // SAFETY (of the process): set once, before the CUDA runtime first reads it.
            std::env::set_var("CUDA_PATH", &dir);
            Ok(format!("{} (pip wheels)", dir.join("include").display()))
        })
        .clone()
}

/// Links every entry of the include folders `from` into `$cache/neuvis/cuda/include` (the first
/// folder wins a name), replacing links neuvis made there before; returns `$cache/neuvis/cuda`.
fn gather(from: &[PathBuf]) -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("no HOME to keep the gathered CUDA headers in: set CUDA_PATH")?
        .join("neuvis")
        .join("cuda");
    let inc = base.join("include");
    std::fs::create_dir_all(&inc).map_err(|e| format!("{}: {e}", inc.display()))?;
    let mut seen = std::collections::HashSet::new();
    for d in from {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let name = e.file_name();
            if !seen.insert(name.clone()) {
                continue;
            }
            let link = inc.join(&name);
            if let Ok(m) = std::fs::symlink_metadata(&link) {
                if !m.file_type().is_symlink() {
                    continue;
                }
                let _ = std::fs::remove_file(&link);
            }
            std::os::unix::fs::symlink(e.path(), &link).map_err(|err| format!("{}: {err}", link.display()))?;
        }
    }
    Ok(base)
}

/// Every piece burn's CUDA backend needs, and the devices the driver lists. Loads the driver and
/// NVRTC into the process (as opening a CUDA device would).
pub fn probe() -> Report {
    let (drv, devices) = driver();
    Report {
        pieces: vec![
            Piece {
                what: "driver",
                found: drv,
            },
            Piece {
                what: "NVRTC",
                found: nvrtc(),
            },
            Piece {
                what: "headers",
                found: headers(),
            },
        ],
        devices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_the_first_missing_piece() {
        let r = Report {
            pieces: vec![
                Piece {
                    what: "driver",
                    found: Ok("CUDA 13.0".into()),
                },
                Piece {
                    what: "NVRTC",
                    found: Err("pip install nvidia-cuda-nvrtc".into()),
                },
            ],
            devices: vec![CudaDevice {
                name: "H100".into(),
                capability: (9, 0),
            }],
        };
        assert!(!r.ready());
        assert_eq!(r.missing().unwrap(), "no CUDA NVRTC: pip install nvidia-cuda-nvrtc");
    }

    #[test]
    fn headers_are_found_in_cccl_subfolders_too() {
        let t = std::env::temp_dir().join(format!("neuvis-cuda-h-{}", std::process::id()));
        std::fs::create_dir_all(t.join("cccl/cuda")).unwrap();
        std::fs::write(t.join("cccl/cuda/barrier"), "").unwrap();
        std::fs::write(t.join("cuda_fp16.h"), "").unwrap();
        let dirs = vec![t.clone()];
        assert_eq!(find_header(&dirs, "cuda_fp16.h"), Some(t.clone()));
        assert_eq!(find_header(&dirs, "cuda/barrier"), Some(t.join("cccl")));
        assert_eq!(find_header(&dirs, "mma.h"), None);
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn without_a_driver_the_report_says_how_to_get_one() {
        // CI machines have no NVIDIA driver; where one exists this checks nothing more.
        let r = probe();
        if Lib::open("libcuda.so.1").is_none() {
            assert!(!r.ready());
            let m = r.missing().unwrap();
            assert!(m.contains("libcuda.so.1") && m.contains("driver"), "{m}");
        }
    }
}
