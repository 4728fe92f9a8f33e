pub mod engine;
pub mod policy;
pub mod rewrite;
pub mod spans;
