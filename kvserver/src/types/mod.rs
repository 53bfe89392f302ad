//! The values.

pub mod member_set;
pub mod packed_list;
pub mod sorted_set;
pub mod stream;
