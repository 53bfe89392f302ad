//! Buffer groups registered for one ring pair of the threads backend.
//!
//! The application registers and unregisters groups (through `Ring`); the
//! ring's poller takes descriptors from them for `FASTIO_SQE_BUFFER_SELECT`
//! receives. One mutex covers the table: the poller holds it for one receive
//! at a time, the application for a registration.

use crate::abi::{self, BufDesc, BufReg};
use crate::bufring::Consumer;
use crate::validate;

pub(crate) struct Group {
    pub consumer: Consumer,
    /// Ops of this group taken from the SQ and not finished: while any is,
    /// the group cannot be unregistered (its memory may be written).
    pub armed: u32,
}

#[derive(Default)]
pub(crate) struct Groups {
    slots: Vec<Option<Group>>,
}

impl Groups {
    /// # Safety
    /// The descriptor array `reg` names must stay mapped until the group is
    /// unregistered or the context is gone (`Ring::register_buf_ring`'s
    /// contract).
    pub unsafe fn register(&mut self, reg: &BufReg, nr_rings: u32) -> Result<(), i32> {
        validate::check_buf_reg(reg, nr_rings)?;
        let i = reg.bgid as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].is_some() {
            return Err(libc::EEXIST);
        }
        // SAFETY: validated size and alignment; lifetime is the caller's
        // promise.
        let consumer =
            unsafe { Consumer::new(reg.ring_addr as usize as *mut BufDesc, reg.ring_entries) };
        self.slots[i] = Some(Group { consumer, armed: 0 });
        Ok(())
    }

    pub fn unregister(&mut self, bgid: u16) -> Result<(), i32> {
        match self.slots.get_mut(bgid as usize) {
            Some(slot @ Some(_)) => {
                if slot.as_ref().is_some_and(|g| g.armed > 0) {
                    return Err(libc::EBUSY);
                }
                *slot = None;
                Ok(())
            }
            _ => Err(libc::ENOENT),
        }
    }

    pub fn get(&mut self, bgid: u16) -> Option<&mut Group> {
        self.slots.get_mut(bgid as usize)?.as_mut()
    }

    /// Whether the group has descriptors to take (false if unregistered).
    pub fn has_buffers(&mut self, bgid: u16) -> bool {
        self.get(bgid).is_some_and(|g| g.consumer.available() > 0)
    }
}

/// What a descriptor taken from a group may be used for: its length, or
/// the errno its op completes with (the copy is checked once, here).
pub(crate) fn usable_len(d: &BufDesc, want: u32) -> Result<u32, i32> {
    if d.len == 0 || d.len > abi::FASTIO_MAX_IO_LEN {
        return Err(libc::EINVAL);
    }
    Ok(if want == 0 { d.len } else { want.min(d.len) })
}
