//! Speculative isosurface raycasting of volumes larger than the memory you give it
//! (`neuvis raycast`), after "Deep Learning-Accelerated Interactive Isosurface Visualization in
//! Memory-Limited Settings via Speculative Raycasting".
//!
//! This crate provides
//! - [`prepare`]: streams a volume (plane by plane) into a `.nvb` [`store`]: full-resolution
//!   bricks with a one-voxel apron, losslessly compressed, a brick index with per-brick ranges,
//!   a low-resolution base volume, and optionally the super-resolution network;
//! - [`sr`]: the brick super-resolution network's inputs and a plain-Rust forward pass;
//! - [`train`] (feature `train`): training that network on burn, on the volume's own bricks;
//! - [`octree`]: the min–max octree for hierarchical empty-space skipping;
//! - [`cache`]: the byte-bounded LRU brick cache;
//! - [`engine`]: the speculative, progressive raycaster and its baselines `full`, `trilinear`
//!   and `dense`;
//! - [`mesh`]: marching cubes (from a store, brick by brick, or a whole field) and a CPU z-buffer
//!   rasterizer: the `mesh` baseline and `neuvis isosurface`;
//! - [`raycaster`]: one [`Raycaster`] over either engine, by [`RenderDevice`];
//! - [`zfp`]: ZFP fixed-rate bricks for the `compressed` baseline.
//! - [`gpu`] (feature `gpu`): the same speculative raycaster as wgpu compute shaders, with a
//!   budget-sized brick atlas on the GPU.
//!
//! It is used by the `neuvis raycast` subcommands and the raycast benchmark. Only the `train`
//! feature links burn: the network is small enough to evaluate with plain loops, so the renderer
//! stays light.
//!
//! Main design decision: one traversal for every method. The speculative methods differ from
//! `full` only in where a brick's samples come from, and every sample is computed from global
//! indices with the same arithmetic, so with exact bricks the speculative image is bit-identical
//! to the in-core one; what the cache, the base volume and the network change is measured, not
//! mixed up with traversal differences.
//!
//! ```
//! use neuvis_raycast::{geom::Geometry, octree::Octree};
//! let g = Geometry::new([65, 65, 33], 16, 4).unwrap();
//! assert_eq!(g.bdims, [4, 4, 2]);
//! assert_eq!(g.base_dims, [17, 17, 9]);
//! assert_eq!(g.side(), 19); // 16 cells + 1 sample + a one-voxel apron on both sides
//! let t = Octree::new([2, 1, 1], vec![(0.0, 1.0), (2.0, 3.0)]);
//! assert_eq!(t.levels.last().unwrap().ranges, vec![(0.0, 3.0)]);
//! ```

pub mod cache;
pub mod engine;
pub mod error;
pub mod geom;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod mesh;
pub mod octree;
pub mod orbit;
pub mod prepare;
pub mod raycaster;
pub mod sr;
pub mod store;
#[cfg(feature = "train")]
pub mod train;
pub mod zfp;

pub use engine::{Engine, FrameStats, Method, RenderOptions};
pub use error::{InvalidConfig, RaycastError, Result};
pub use prepare::{prepare, PrepareOptions, SlabSource};
pub use raycaster::{Raycaster, RenderDevice};
pub use store::{Store, StoreKind};
