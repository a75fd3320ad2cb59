//! A stand-in for `cubecl-llvm` 0.11.3 that carries no LLVM.
//!
//! cubecl-cuda names these items whichever of its two compilers runs; with its `cpp` feature on
//! (neuvis-nn's `cuda` feature sets it) every kernel goes through CUDA C++ and NVRTC, and nothing
//! here is called but [`nvptx::ptx_version::PtxVersion::for_driver`] and, never, the LLVM
//! compiler itself, which answers every kernel with a [`CompilationError`] naming this crate.
//! See README.md beside this crate for why it exists and when to remove it.

use cubecl_core::prelude::KernelDefinition;
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::compiler::{CompilationError, Compiler};
use cubecl_runtime::kernel::BufferIOAttr;

/// The message every attempt to compile through this stand-in gets.
pub const NO_LLVM: &str = "this neuvis build has no LLVM kernel compiler (its cubecl-llvm is a \
    stand-in, patches/cubecl-llvm): CUDA kernels compile through NVRTC, cubecl-cuda's `cpp` feature";

/// The targets the real crate lowers to. Only the one cubecl-cuda names exists here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LlvmTarget {
    /// The host CPU (the real crate's JIT; unused by cubecl-cuda).
    #[default]
    Cpu,
    /// NVIDIA PTX.
    #[cfg(feature = "nvptx")]
    Nvptx,
}

/// The LLVM compiler's handle, as cubecl-cuda builds it.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// The target it would lower to.
    pub target: LlvmTarget,
}

/// The LLVM compiler's options, with the fields cubecl-cuda fills in.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// AMD GPU architecture (always `None` from cubecl-cuda).
    pub arch: Option<String>,
    /// NVIDIA architecture of the device.
    #[cfg(feature = "nvptx")]
    pub sm_arch: Option<cubecl_core::ir::nvidia::SmArch>,
    /// The newest PTX the driver loads.
    #[cfg(feature = "nvptx")]
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Whether scalars travel in the kernel parameter block.
    pub grid_constants: bool,
}

/// A PTX module as the real compiler hands it over. Never built here.
#[cfg(feature = "nvptx")]
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX text.
    pub ptx: Vec<core::ffi::c_char>,
    /// The kernel's entry point.
    pub entrypoint: String,
    /// The IR, for logs and cache keys.
    pub ir: String,
    /// Dynamic shared memory per launch, in bytes.
    pub shared_memory_size: usize,
    /// How the kernel uses each buffer binding.
    pub io: Vec<BufferIOAttr>,
}

/// What the real compiler produces. Never built here.
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    /// A PTX module.
    #[cfg(feature = "nvptx")]
    NvptxCode(NvptxModule),
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => f.write_str(&module.ir),
            #[cfg(not(feature = "nvptx"))]
            _ => f.write_str(NO_LLVM),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match repr {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(module) => Some(module.io.clone()),
            #[cfg(not(feature = "nvptx"))]
            _ => None,
        }
    }

    /// Refuses every kernel: this build has no LLVM.
    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic {
            reason: NO_LLVM.to_string(),
            backtrace: BackTrace::capture(),
        })
    }

    fn extension(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "plir",
            #[cfg(feature = "nvptx")]
            LlvmTarget::Nvptx => "ll",
        }
    }

    fn lang_tag(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "mlir",
            #[cfg(feature = "nvptx")]
            LlvmTarget::Nvptx => "llvm",
        }
    }
}

/// Items of the real crate's NVPTX target that cubecl-cuda names.
#[cfg(feature = "nvptx")]
pub mod nvptx {
    /// The PTX version a driver loads.
    pub mod ptx_version {
        /// Stands for the PTX a CUDA driver of a given version loads. The stand-in emits no PTX,
        /// so it keeps the driver's version (`cuDriverGetVersion`: 12.8 is `12080`) and names it
        /// in cache keys; it does not map it to a PTX ISA number.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct PtxVersion(i32);

        impl PtxVersion {
            /// The version for a driver of CUDA `driver`; `None` below CUDA 10.0 (as the real
            /// crate, which leaves such drivers to LLVM's default).
            pub fn for_driver(driver: i32) -> Option<Self> {
                (driver >= 10000).then_some(Self(driver))
            }
        }

        impl core::fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "driver{}", self.0)
            }
        }
    }
}

/// Items of the real crate's shared lowering that cubecl-cuda names.
pub mod shared {
    /// Device properties narrowed to what the LLVM backend lowers.
    pub mod lowered_features {
        use cubecl_core::ir::DeviceProperties;

        /// The GPU a device's features would be narrowed for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum GpuTarget {
            /// NVIDIA PTX.
            #[cfg(feature = "nvptx")]
            Nvptx,
        }

        /// Leaves `props` as they are: with no LLVM route every kernel compiles through the C++
        /// backend, which honours what the device advertises.
        pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llvm_route_refuses_with_a_message_naming_the_stand_in() {
        assert!(NO_LLVM.contains("patches/cubecl-llvm") && NO_LLVM.contains("NVRTC"));
        assert_eq!(PlironCompiler::default().extension(), "plir");
    }

    #[cfg(feature = "nvptx")]
    #[test]
    fn ptx_versions_follow_the_driver() {
        use nvptx::ptx_version::PtxVersion;
        assert_eq!(PtxVersion::for_driver(9020), None);
        let a = PtxVersion::for_driver(12080).unwrap();
        let b = PtxVersion::for_driver(13000).unwrap();
        assert!(a < b);
        assert_eq!(a.to_string(), "driver12080");
    }
}
