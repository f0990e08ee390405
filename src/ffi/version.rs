//! Library and ABI versions, at compile time (macros) and at run time (functions), so a caller
//! can check that the header it was built with and the library it runs with agree.

use std::ffi::c_char;

/// Major version of the library (semver). Equals the package version.
pub const SENDENSE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library (semver).
pub const SENDENSE_VERSION_MINOR: u32 = 1;
/// Patch version of the library (semver).
pub const SENDENSE_VERSION_PATCH: u32 = 0;
/// Version of the C ABI: bumped whenever a declaration of this header changes incompatibly.
/// The shared library's soname is `libsendense.so.<SENDENSE_ABI_VERSION>`. Version 2:
/// `sendense_open_options` is read by its `struct_size` and its flags are `uint32_t` 0 or 1
/// (was a C `bool`); see the README's changelog.
pub const SENDENSE_ABI_VERSION: u32 = 2;

/// The library version as a static string, "MAJOR.MINOR.PATCH".
#[no_mangle]
pub extern "C" fn sendense_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of the running library; compare with `SENDENSE_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn sendense_abi_version() -> u32 {
    SENDENSE_ABI_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abi_version_is_the_one_the_changelog_ends_with() {
        let readme = include_str!("../../README.md");
        let entry = format!("### ABI {SENDENSE_ABI_VERSION}\n");
        assert!(readme.contains(&entry), "README.md's changelog has no entry {entry:?}");
        assert!(!readme.contains(&format!("### ABI {}\n", SENDENSE_ABI_VERSION + 1)));
        assert_eq!(sendense_abi_version(), SENDENSE_ABI_VERSION);
    }

    #[test]
    fn version_constants_match_the_package_version() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(SENDENSE_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(SENDENSE_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(SENDENSE_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        let v = unsafe { std::ffi::CStr::from_ptr(sendense_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
