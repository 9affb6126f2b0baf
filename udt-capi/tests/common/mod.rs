//! What the C/C++ tests share: finding the freshly built library, laying it out
//! as `-ludt` expects, compiling programs with g++/gcc against it or against
//! the reference library (Debian's libudt-dev), and running them.
//!
//! Missing tools (g++, libudt-dev, valgrind) make a test say why it is skipped
//! and pass, unless `UDT_REQUIRE_TOOLS=1` (or `CI=true`, for g++ and libudt-dev,
//! which CI installs): then the test fails with the reason.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use md5::{Digest, Md5};

/// Whether missing tools are a failure rather than a skip. `ci` tools are
/// installed by CI itself (g++, libudt-dev); the others only count when
/// `UDT_REQUIRE_TOOLS=1`.
pub fn required(ci_installs_it: bool) -> bool {
    tools::tools_required() || (ci_installs_it && std::env::var("CI").is_ok_and(|x| x == "true"))
}

#[path = "../../../udt/tests/support/tools.rs"]
mod tools;
pub use tools::missing;

/// Skips (returns from) the test when `$e` is an `Err`, or fails it when tools
/// are required.
#[macro_export]
macro_rules! or_skip {
    ($e:expr, $ci:expr) => {
        match $e {
            Ok(v) => v,
            Err(why) => {
                if $crate::common::required($ci) {
                    panic!("required tool missing: {why}");
                }
                $crate::common::missing(&why);
                return;
            }
        }
    };
}

/// The directory holding the library cargo just built for this test.
fn built_lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    for dir in [
        deps.clone(),
        deps.parent().expect("profile dir").to_path_buf(),
    ] {
        if dir.join("libudtrs.so").exists() && dir.join("libudtrs.a").exists() {
            return dir;
        }
    }
    panic!("libudtrs.so/libudtrs.a not found next to {}", exe.display());
}

/// An install prefix as `install.sh` lays it out: `lib/libudt.so`,
/// `lib/libudt.a`, `lib/pkgconfig/udt.pc`, `include/udt/udt.h`.
pub fn prefix() -> &'static Path {
    static PREFIX: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("udt-capi-prefix");
        let lib = p.join("lib");
        std::fs::create_dir_all(lib.join("pkgconfig")).unwrap();
        let built = built_lib_dir();
        for (from, to) in [("libudtrs.so", "libudt.so"), ("libudtrs.a", "libudt.a")] {
            let dst = lib.join(to);
            let _ = std::fs::remove_file(&dst);
            std::os::unix::fs::symlink(built.join(from), &dst).unwrap();
        }
        let include = p.join("include");
        let _ = std::fs::remove_file(&include);
        std::os::unix::fs::symlink(crate_dir().join("include"), &include).unwrap();
        let pc = std::fs::read_to_string(crate_dir().join("udt.pc.in")).unwrap();
        std::fs::write(
            lib.join("pkgconfig/udt.pc"),
            pc.replace("@PREFIX@", p.to_str().unwrap()),
        )
        .unwrap();
        p
    })
}

pub fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Which library a program is built against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// This crate, linked as a shared library (`-ludt` from the prefix).
    Capi,
    /// This crate, linked statically.
    CapiStatic,
    /// UDT 4.11 from libudt-dev.
    Reference,
}

/// Compiles `src` (C++ unless it ends in `.c`) into the test's scratch
/// directory; `Err` says why it could not be.
pub fn compile(src: &Path, name: &str, lib: Lib) -> Result<PathBuf, String> {
    if lib == Lib::Reference && !Path::new("/usr/include/udt/udt.h").exists() {
        return Err("libudt-dev is not installed (/usr/include/udt/udt.h missing)".into());
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let c = src.extension().is_some_and(|e| e == "c");
    let mut cmd = Command::new(if c { "gcc" } else { "g++" });
    cmd.args(["-O1", "-g", "-Wall", "-Wextra", "-o"])
        .arg(&out)
        .arg(src);
    match lib {
        Lib::Capi => {
            let p = prefix();
            cmd.arg(format!("-I{}", p.join("include").display()))
                .arg(format!("-L{}", p.join("lib").display()))
                .arg(format!("-Wl,-rpath,{}", p.join("lib").display()))
                .args(["-ludt", "-lpthread"]);
        }
        Lib::CapiStatic => {
            let p = prefix();
            cmd.arg(format!("-I{}", p.join("include").display()))
                .arg(p.join("lib/libudt.a"))
                .args(["-lpthread", "-ldl", "-lm"]);
        }
        Lib::Reference => {
            cmd.args(["-ludt", "-lpthread"]);
        }
    }
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(out),
        Ok(o) => panic!(
            "compiling {} against {lib:?} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => Err(format!(
            "{} is not available ({e})",
            if c { "gcc" } else { "g++" }
        )),
    }
}

/// A running program; killed when dropped.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    name: String,
}

impl Proc {
    pub fn spawn(bin: &Path, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the program starts");
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        let stderr = child.stderr.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        let tag = name.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines, name }
    }

    /// Waits for a stderr line starting with `prefix`; returns the rest.
    pub fn expect_line(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("{} never printed {prefix}", self.name));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
            assert!(!line.starts_with("ERROR"), "{} failed: {line}", self.name);
        }
    }

    pub fn port(&self) -> u16 {
        self.expect_line("PORT").parse().expect("a port number")
    }

    /// MD5 and length of everything the program writes to stdout.
    pub fn digest_stdout(&mut self) -> std::thread::JoinHandle<(u64, [u8; 16])> {
        let out: ChildStdout = self.child.stdout.take().expect("piped");
        std::thread::spawn(move || digest_reader(out))
    }

    /// Waits (up to two minutes) for a clean exit.
    pub fn wait_success(mut self) {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} hung", self.name);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn digest_reader(mut r: impl Read) -> (u64, [u8; 16]) {
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                md5.update(&buf[..k]);
                n += k as u64;
            }
        }
    }
    (n, md5.finalize().into())
}

/// The bytes `udt4_peer --gen N` sends.
pub fn generated(n: usize) -> Vec<u8> {
    let mut state: u32 = 1;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect()
}

pub fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}
