import Foundation

/// The environment a llama-server runs with: a clean base taken from the daemon's environment, with the
/// profile's own `env:` over it.
///
/// The daemon's environment holds keys (the front's, every remote profile's); a server needs none of
/// them, and `/proc/PID/environ` of a server is readable by anything running as the same user. So only
/// what a process needs to run (PATH, HOME, locale, temp dir, the loader path) and the GPU runtime's
/// own settings pass; a name that looks like a secret never passes, whatever its prefix.
public enum ServerEnvironment {
    /// Passed as they are.
    public static let names: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "XDG_RUNTIME_DIR",
    ]
    /// The ROCm / HIP / HSA runtime's settings and the locale (`LC_*`).
    public static let prefixes = ["LC_", "HIP_", "HSA_", "ROCR_", "ROCM_", "HCC_", "AMD_", "GPU_", "OMP_", "GGML_"]
    /// Parts of a name that mark a secret.
    static let secretMarks = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"]

    /// The base from `inherited` (the daemon's environment) plus the profile's `own` variables.
    public static func build(inherited: [String: String], own: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in inherited where passes(name) { out[name] = value }
        if out["PATH"] == nil { out["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        // The profile's own variables are chosen by the user for this server: they always pass.
        return out.merging(own) { _, profile in profile }
    }

    /// True when a variable of the daemon's environment may reach a server.
    public static func passes(_ name: String) -> Bool {
        let upper = name.uppercased()
        if secretMarks.contains(where: { upper.contains($0) }) { return false }
        return names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }
}
