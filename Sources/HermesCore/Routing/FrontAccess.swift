import Foundation

/// Who may call the front: the `Host` and `Origin` checks that keep web pages from driving it.
///
/// Why: a browser sends a cross-origin "simple" POST (`Content-Type: text/plain`) without a preflight,
/// so any page the user visits could make the box generate (or burst to the cloud on the user's key);
/// and a page whose name is rebound to 127.0.0.1 (DNS rebinding, Ollama's CVE-2024-28224) is same-origin
/// to the browser and can read the answers. A browser always sends `Host` with the name the page used and
/// `Origin` on every cross-origin request; the official SDKs and curl send no `Origin`.
///
/// Pure: the two header values and the settings in, a verdict out.
public struct FrontAccess: Sendable, Equatable {
    /// The address the front listens on (`front.listen`, or the override it was started with).
    public var listenHost: String
    /// `front.allowed_origins`, normalized (`scheme://host[:port]`, lowercase, default port dropped).
    public var allowedOrigins: Set<String>
    /// `front.allowed_hosts`, lowercase names.
    public var allowedHosts: Set<String>

    public init(listenHost: String, allowedOrigins: [String] = [], allowedHosts: [String] = []) {
        self.listenHost = Self.hostName(listenHost) ?? listenHost.lowercased()
        self.allowedOrigins = Set(allowedOrigins.compactMap(Self.normalizedOrigin))
        self.allowedHosts = Set(allowedHosts.compactMap(Self.hostName))
    }

    public init(settings: FrontSettings, listenHost: String? = nil) {
        self.init(listenHost: listenHost ?? settings.host, allowedOrigins: settings.allowedOrigins, allowedHosts: settings.allowedHosts)
    }

    /// Why a request is refused: a code for the error body and a message for a person.
    public struct Denial: Sendable, Equatable {
        public var code: String
        public var message: String
    }

    public enum Verdict: Sendable, Equatable {
        /// Serve it. `corsOrigin`: an allowed cross-origin caller, to name in `Access-Control-Allow-Origin`.
        case allow(corsOrigin: String?)
        case deny(Denial)
    }

    /// The verdict for a request with these `Host` and `Origin` header values (nil: the header is absent).
    public func check(host: String?, origin: String?) -> Verdict {
        // HTTP/1.0 clients may send no Host; a browser always sends one, so no page is let in by this.
        if let host {
            guard let name = Self.hostName(host), allowsHost(name) else {
                return .deny(Denial(code: "host_not_allowed",
                                    message: "Host '\(Self.printable(host))' is not this front's address: add the name to front.allowed_hosts to use it"))
            }
        }
        guard let origin else { return .allow(corsOrigin: nil) }
        guard let normal = Self.normalizedOrigin(origin) else {
            return .deny(Denial(code: "origin_not_allowed", message: "Origin '\(Self.printable(origin))' may not call this front"))
        }
        if allowedOrigins.contains(normal) { return .allow(corsOrigin: origin) }
        // Same origin: the status page, served by the front itself at the address the browser used.
        if let host, let authority = Self.normalizedAuthority(host, scheme: "http"), normal == "http://" + authority {
            return .allow(corsOrigin: nil)
        }
        return .deny(Denial(code: "origin_not_allowed",
                            message: "Origin '\(Self.printable(origin))' may not call this front: add it to front.allowed_origins to allow that page"))
    }

    /// A name the front answers to: loopback, an address literal (it cannot be rebound), the listen
    /// address, or an allowed host.
    public func allowsHost(_ name: String) -> Bool {
        Self.isLoopbackName(name) || Self.isAddressLiteral(name) || name == listenHost || allowedHosts.contains(name)
    }

    // MARK: parsing (outside input: every path returns nil rather than trapping)

    /// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`), lowercase, without a trailing
    /// dot; nil when malformed.
    public static func hostName(_ value: String) -> String? {
        guard let (name, _) = splitAuthority(value) else { return nil }
        return name
    }

    /// `host[:port]` with the scheme's default port dropped; nil when malformed.
    static func normalizedAuthority(_ value: String, scheme: String) -> String? {
        guard let (name, port) = splitAuthority(value) else { return nil }
        let shown = name.contains(":") ? "[\(name)]" : name
        let defaultPort = scheme == "https" ? 443 : 80
        guard let port, port != defaultPort else { return shown }
        return "\(shown):\(port)"
    }

    /// `scheme://host[:port]` in lowercase with the default port dropped; nil for `null`, a path, or
    /// another scheme.
    public static func normalizedOrigin(_ value: String) -> String? {
        let lower = value.lowercased()
        for scheme in ["http", "https"] {
            let prefix = scheme + "://"
            guard lower.hasPrefix(prefix) else { continue }
            var rest = Substring(lower.dropFirst(prefix.count))
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard !rest.contains("/"), let authority = normalizedAuthority(String(rest), scheme: scheme) else { return nil }
            return prefix + authority
        }
        return nil
    }

    static func splitAuthority(_ value: String) -> (String, Int?)? {
        let v = value.lowercased()
        guard !v.isEmpty, v.utf8.count <= 255, !v.contains("@"), v.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return nil
        }
        var name: Substring
        var portText: Substring?
        if v.hasPrefix("[") {
            guard let close = v.firstIndex(of: "]") else { return nil }
            name = v[v.index(after: v.startIndex)..<close]
            let after = v[v.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard name.contains(":"), name.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        } else {
            let parts = v.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            name = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else { return nil }
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty else { return nil }
        var port: Int?
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCII), let p = Int(portText), (1...65535).contains(p) else {
                return nil
            }
            port = p
        }
        return (String(name), port)
    }

    static func isLoopbackName(_ name: String) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        return ipv4(name).map { $0[0] == 127 } ?? false
    }

    static func isAddressLiteral(_ name: String) -> Bool {
        name.contains(":") || ipv4(name) != nil
    }

    static func ipv4(_ name: String) -> [Int]? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p), n <= 255 else { return nil }
            out.append(n)
        }
        return out
    }

    /// A header value as it may appear in an error message: printable ASCII, at most 100 characters.
    static func printable(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.prefix(100).map { $0.value >= 0x20 && $0.value < 0x7F && $0 != "'" ? $0 : "?" }))
    }
}
