//! SQLite's own allocations through mimalloc, without SQLite's global
//! allocation count.
//!
//! The Rust side allocates through mimalloc (see `lib.rs`); SQLite, a C
//! library, called glibc's malloc behind a process-wide mutex that keeps
//! its memory statistics. perf of `cargo bench --bench runtime` showed
//! glibc's malloc and that mutex at about a tenth of a batch's time. SQLite
//! takes its allocator as configuration (`SQLITE_CONFIG_MALLOC`), set once
//! before its first connection; mimalloc's `override` feature would do the
//! same by replacing malloc for every C library of the process, which is
//! more than this needs. Nothing here reads the statistics (no soft heap
//! limit is set), so they are off (`SQLITE_CONFIG_MEMSTATUS`).

use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::Once;

use libsqlite3_sys::{
    SQLITE_CONFIG_MALLOC, SQLITE_CONFIG_MEMSTATUS, SQLITE_OK, sqlite3_config, sqlite3_mem_methods,
};

/// Each allocation starts with its size, as SQLite's own allocator over
/// plain malloc keeps it (`xSize` must answer for any pointer); eight bytes
/// keep the eight-byte alignment SQLite asks for.
const HEADER: usize = std::mem::size_of::<u64>();

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Ok(n) = usize::try_from(n) else {
        return null_mut();
    };
    // SAFETY: mi_malloc returns null or a block of at least the size asked,
    // aligned to 16; the size is written in its first eight bytes and SQLite
    // is given the rest.
    unsafe {
        let p = libmimalloc_sys::mi_malloc(n + HEADER).cast::<u64>();
        if p.is_null() {
            return null_mut();
        }
        p.write(n as u64);
        p.add(1).cast()
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from x_malloc or x_realloc, eight bytes into a
    // mimalloc block.
    unsafe { libmimalloc_sys::mi_free(p.cast::<u64>().sub(1).cast()) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: as x_malloc.
        return unsafe { x_malloc(n) };
    }
    let Ok(n) = usize::try_from(n) else {
        return null_mut();
    };
    // SAFETY: `p` came from x_malloc or x_realloc; mi_realloc keeps the
    // block (and its size header) when it returns null.
    unsafe {
        let q =
            libmimalloc_sys::mi_realloc(p.cast::<u64>().sub(1).cast(), n + HEADER).cast::<u64>();
        if q.is_null() {
            return null_mut();
        }
        q.write(n as u64);
        q.add(1).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` came from x_malloc or x_realloc, which wrote its size in
    // the eight bytes before it.
    let n = unsafe { p.cast::<u64>().sub(1).read() };
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    n.saturating_add(7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Sets SQLite's allocator before its first connection in this process.
/// When SQLite was already started (by another library of the process), it
/// refuses the change and keeps its own allocator, which is only slower.
pub fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let methods = sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: null_mut(),
        };
        // SAFETY: both options are valid before sqlite3_initialize; SQLite
        // copies `methods` and returns SQLITE_MISUSE (changing nothing)
        // when it was already initialized.
        unsafe {
            sqlite3_config(SQLITE_CONFIG_MEMSTATUS, c_int::from(false));
            sqlite3_config(SQLITE_CONFIG_MALLOC, &raw const methods);
        }
    });
}
