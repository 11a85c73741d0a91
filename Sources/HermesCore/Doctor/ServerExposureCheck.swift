/// Whether a local profile's llama-server can be reached by others without a key.
///
/// llama-server answers every request when it has no `--api-key`: on a host beyond loopback (`0.0.0.0`,
/// a LAN address) anyone on the network can then use the model, read `/slots` (prompts in flight) and
/// skip the front's routing and key. The front itself refuses to listen off loopback without a key;
/// this is the same rule for the servers behind it.
public enum ServerExposureCheck {
    /// Flags and environment variables llama-server reads a key from.
    static let keyFlags = ["--api-key", "--api-key-file"]
    static let keyVariables = ["LLAMA_API_KEY", "LLAMA_ARG_API_KEY", "LLAMA_ARG_API_KEY_FILE"]

    /// A warn when `profile` listens beyond loopback without a key, an ok line otherwise; nil for remote profiles.
    public static func check(_ profile: Profile) -> DoctorCheck? {
        guard let s = profile.llamaServer else { return nil }
        // `--host` takes a comma-separated list, or a UNIX socket path (reachable only through the file system).
        let hosts = s.effectiveHost.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let exposed = hosts.filter { !$0.isEmpty && !isLoopback($0) && !$0.hasPrefix("/") && !$0.hasSuffix(".sock") }
        guard !exposed.isEmpty else {
            return DoctorCheck(.ok, "exposure", profile: profile.name, "llama-server listens on \(s.effectiveHost) only (loopback)")
        }
        if hasKey(args: s.args ?? [], env: s.env ?? [:]) {
            return DoctorCheck(.ok, "exposure", profile: profile.name,
                               "llama-server listens on \(exposed.joined(separator: ", ")) and asks for a key (value not shown)")
        }
        return DoctorCheck(.warn, "exposure", profile: profile.name,
                           "llama-server listens on \(exposed.joined(separator: ", ")) without --api-key: anyone who can reach it uses the model and reads its slots, past the front",
                           fix: "set `host: 127.0.0.1` in \(profile.source.file) (the front reaches it there), or add `--api-key-file` to its `args:`")
    }

    static func hasKey(args: [String], env: [String: String]) -> Bool {
        let flagged = args.contains { a in keyFlags.contains { a == $0 || a.hasPrefix($0 + "=") } }
        let inEnv = keyVariables.contains { !(env[$0] ?? "").isEmpty }
        return flagged || inEnv
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}
