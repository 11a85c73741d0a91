import Foundation
import Testing

@testable import HermesCore

/// Who may call the front: the Host and Origin verdicts as a table.
@Suite struct FrontAccessTests {
    let access = FrontAccess(listenHost: "127.0.0.1", allowedOrigins: ["http://localhost:3000", "https://ui.example/"],
                             allowedHosts: ["box.lan"])

    func allowed(_ host: String?, _ origin: String?) -> String? {
        switch access.check(host: host, origin: origin) {
        case .allow(let cors): return cors ?? "same"
        case .deny: return nil
        }
    }

    func denial(_ host: String?, _ origin: String?) -> String? {
        if case .deny(let d) = access.check(host: host, origin: origin) { return d.code }
        return nil
    }

    @Test(arguments: [
        // Host, Origin, expected: "same" (allowed, no CORS header), an origin to echo, or nil (refused)
        ("127.0.0.1:8082", nil, "same"),          // SDKs and curl send no Origin
        ("localhost:8082", nil, "same"),
        ("[::1]:8082", nil, "same"),
        ("127.9.0.1", nil, "same"),
        ("api.localhost:8082", nil, "same"),
        ("192.168.1.20:8082", nil, "same"),       // an address cannot be rebound
        ("box.lan:8082", nil, "same"),            // front.allowed_hosts
        ("BOX.LAN.:8082", nil, "same"),
        (nil, nil, "same"),                       // HTTP/1.0 without Host: no browser does this
        ("evil.example:8082", nil, nil),          // DNS rebinding
        ("localhost.evil.example", nil, nil),
        ("127.0.0.1.evil.example", nil, nil),
        ("", nil, nil),
        ("a:b:c", nil, nil),
        ("127.0.0.1:99999", nil, nil),
        ("x@127.0.0.1", nil, nil),
        ("127.0.0.1:8082", "http://127.0.0.1:8082", "same"),     // the status page
        ("localhost:8082", "http://LOCALHOST:8082/", "same"),
        ("127.0.0.1", "http://127.0.0.1:80", "same"),
        ("127.0.0.1:8082", "http://127.0.0.1:9000", nil),        // another port is another origin
        ("127.0.0.1:8082", "https://127.0.0.1:8082", nil),
        ("127.0.0.1:8082", "http://evil.example", nil),
        ("127.0.0.1:8082", "null", nil),                         // sandboxed frames, file://
        ("127.0.0.1:8082", "http://localhost:3000", "http://localhost:3000"),   // front.allowed_origins
        ("127.0.0.1:8082", "https://ui.example", "https://ui.example"),
        ("127.0.0.1:8082", "https://ui.example:443", "https://ui.example:443"),
        ("127.0.0.1:8082", "http://ui.example", nil),
        ("127.0.0.1:8082", "http://localhost:3000/path", nil),
        ("evil.example:8082", "http://evil.example:8082", nil),  // rebinding with its own origin
    ] as [(String?, String?, String?)])
    func verdicts(host: String?, origin: String?, expected: String?) {
        #expect(allowed(host, origin) == expected, "Host \(host ?? "-") Origin \(origin ?? "-")")
    }

    @Test func refusalsSayWhichHeaderAndWhatToConfigure() throws {
        #expect(denial("evil.example:8082", nil) == "host_not_allowed")
        #expect(denial("127.0.0.1:8082", "http://evil.example") == "origin_not_allowed")
        guard case .deny(let d) = access.check(host: "ev\u{7}il'x", origin: nil) else { throw TestFailure("allowed") }
        #expect(d.message.contains("front.allowed_hosts") && !d.message.contains("\u{7}"))
        guard case .deny(let o) = access.check(host: nil, origin: "http://evil.example") else { throw TestFailure("allowed") }
        #expect(o.message.contains("front.allowed_origins"))
    }

    @Test func theListenAddressIsAllowedWhateverItIs() {
        let wide = FrontAccess(listenHost: "studio.lan")
        #expect(wide.allowsHost("studio.lan"))
        #expect(!wide.allowsHost("other.lan"))
        let settings = FrontSettings()
        #expect(FrontAccess(settings: settings).listenHost == "127.0.0.1")
    }

    @Test func originsNormalize() {
        #expect(FrontAccess.normalizedOrigin("HTTP://Example.COM:80/") == "http://example.com")
        #expect(FrontAccess.normalizedOrigin("https://[::1]:8443") == "https://[::1]:8443")
        #expect(FrontAccess.normalizedOrigin("ftp://example.com") == nil)
        #expect(FrontAccess.normalizedOrigin("http://") == nil)
        #expect(FrontAccess.normalizedOrigin("http://a/b") == nil)
    }
}

/// `front.allowed_origins` and `front.allowed_hosts` in runtime.yaml.
@Suite struct FrontAccessConfigTests {
    @Test func listsLoadAndBadEntriesAreErrorsAtTheirLine() throws {
        let good = try TempRoot(runtime: """
            front:
              allowed_origins: [http://localhost:3000, "https://ui.example"]
              allowed_hosts: box.lan
            """, profiles: [:])
        let (config, diags) = good.validate()
        #expect(diags.filter { $0.severity == .error }.isEmpty, "\(diags)")
        #expect(config?.runtime.front.allowedOrigins == ["http://localhost:3000", "https://ui.example"])
        #expect(config?.runtime.front.allowedHosts == ["box.lan"])

        let bad = try TempRoot(runtime: """
            front:
              allowed_origins:
                - http://ok.example
                - evil.example
              allowed_hosts: [box.lan:8082, "http://x"]
            """, profiles: [:])
        let errors = bad.validate().1.filter { $0.severity == .error }
        #expect(errors.count == 3, "\(errors)")
        let origin = try #require(errors.first { $0.message.contains("evil.example") })
        #expect(origin.line == 4 && origin.keyPath == "front.allowed_origins[1]", "\(origin)")
        #expect(errors.contains { $0.message.contains("box.lan:8082") && $0.message.contains("no port") })
    }
}

struct TestFailure: Error {
    let message: String
    init(_ m: String) { message = m }
}
