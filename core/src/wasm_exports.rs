//! The wasm face of the ABI: `alloc`/`dealloc`, `mmsoak_abi_version` and one
//! `mmsoak_<call>(ptr, len) -> ptr` export per call. A result is a buffer of a
//! little-endian u32 length followed by that many JSON bytes; the host frees it
//! with `dealloc(ptr, 4 + len)`. No imports: nothing leaks in from the host.

use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

use crate::abi::{dispatch, ABI_VERSION};

#[no_mangle]
pub extern "C" fn mmsoak_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the host to write a request into.
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(len.max(1) as usize, 1) else {
        return core::ptr::null_mut();
    };
    // SAFETY: layout has non-zero size.
    unsafe { raw_alloc(layout) }
}

/// Frees a buffer from `alloc` or a result buffer (`len` = 4 + payload length).
///
/// # Safety
/// `ptr` must come from `alloc(len)` or be a result buffer of total size `len`.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: u32) {
    if ptr.is_null() {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(len.max(1) as usize, 1) {
        // SAFETY: the caller passes back a pointer and size this module handed out.
        unsafe { raw_dealloc(ptr, layout) }
    }
}

fn call(name: &str, ptr: *const u8, len: u32) -> *mut u8 {
    // SAFETY: the host wrote `len` bytes at `ptr`, a buffer from `alloc(len)`.
    let input = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
    let out = dispatch(name, input);
    let total = out.len() + 4;
    let Ok(layout) = Layout::from_size_align(total, 1) else {
        return core::ptr::null_mut();
    };
    // SAFETY: layout has non-zero size; we write exactly `total` bytes into it.
    unsafe {
        let buf = raw_alloc(layout);
        if buf.is_null() {
            return buf;
        }
        core::ptr::copy_nonoverlapping((out.len() as u32).to_le_bytes().as_ptr(), buf, 4);
        core::ptr::copy_nonoverlapping(out.as_ptr(), buf.add(4), out.len());
        buf
    }
}

/// One `mmsoak_<call>(ptr, len) -> ptr` export per ABI call.
macro_rules! exports {
    ($($export:ident => $call:literal),* $(,)?) => {
        $(
            #[no_mangle]
            pub extern "C" fn $export(ptr: *const u8, len: u32) -> *mut u8 {
                call($call, ptr, len)
            }
        )*
    };
}

exports! {
    mmsoak_simulate => "simulate",
    mmsoak_init => "init",
    mmsoak_step => "step",
    mmsoak_skip => "skip",
    mmsoak_report => "report",
    mmsoak_report_head => "report_head",
    mmsoak_report_chart => "report_chart",
    mmsoak_markdown => "markdown",
    mmsoak_charts => "charts",
    mmsoak_session_start => "session_start",
    mmsoak_session_iterate => "session_iterate",
    mmsoak_session_report => "session_report",
    mmsoak_tick_replay => "tick_replay",
    mmsoak_tick_scan => "tick_scan",
    mmsoak_tick_group => "tick_group",
    mmsoak_session_tick_scan => "session_tick_scan",
    mmsoak_session_tick_iterate => "session_tick_iterate",
    mmsoak_tick_replay_frame => "tick_replay_frame",
    mmsoak_tick_replay_events => "tick_replay_events",
}
