import Foundation
import Yams

extension ConfigLimits {
    /// Entries in `front.allowed_origins` or `front.allowed_hosts`.
    public static let accessListEntries = 64
}

/// `front.allowed_origins` and `front.allowed_hosts` (see `FrontAccess`).
extension ConfigLoader {
    static func parseAccessList(_ e: (key: String, keyNode: Node, value: Node), into front: inout FrontSettings, reader: YAMLReader) {
        let path = "front.\(e.key)"
        guard let items = reader.stringList(e.value, path: path) else { return }
        guard items.count <= ConfigLimits.accessListEntries else {
            reader.add(.error, e.value, path: path, "at most \(ConfigLimits.accessListEntries) entries, found \(items.count)")
            return
        }
        var kept: [String] = []
        for (i, item) in items.enumerated() {
            let at = "\(path)[\(i)]"
            if e.key == "allowed_origins" {
                guard FrontAccess.normalizedOrigin(item) != nil else {
                    reader.add(.error, at: reader.position(of: at), path: at,
                               "expected an origin such as http://127.0.0.1:3000 (scheme, host and port, no path), found '\(item)'")
                    continue
                }
            } else if FrontAccess.hostName(item) == nil || item.contains(":") && !item.hasPrefix("[") {
                reader.add(.error, at: reader.position(of: at), path: at,
                           "expected a host name such as box.lan (no scheme, no port), found '\(item)'")
                continue
            }
            kept.append(item)
        }
        if e.key == "allowed_origins" { front.allowedOrigins = kept } else { front.allowedHosts = kept }
    }
}
