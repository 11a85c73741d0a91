import AsyncHTTPClient
import Foundation
import HermesCore
import HermesDaemon
import HermesSupervisor
import NIOCore
import NIOHTTP1

/// The CLI's side of the daemon's control socket.
struct ControlClient {
    let paths: RuntimePaths

    struct NotRunning: Error, CustomStringConvertible {
        var description: String { "the hermes-runtime daemon is not running" }
    }

    func request(_ method: HTTPMethod, _ path: String, timeout: Double = 30) async throws -> (status: Int, body: Data) {
        guard FileManager.default.fileExists(atPath: paths.controlSocket.path),
            let url = URL(httpURLWithSocketPath: paths.controlSocket.path, uri: path)
        else { throw NotRunning() }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let body = try await response.body.collect(upTo: 16 << 20)
            return (Int(response.status.code), Data(body.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw CLIError("the daemon did not answer within \(Int(timeout)) s", hint: "see \(paths.daemonLog.path)", code: "daemon_timeout")
        } catch {
            // Refused or reset: a socket file left by a daemon that is gone.
            throw NotRunning()
        }
    }

    /// Decodes a success body as `T`, or throws the daemon's `ControlError`.
    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, as: T.Type, timeout: Double = 30) async throws -> T {
        let (status, body) = try await request(method, path, timeout: timeout)
        guard (200..<300).contains(status) else {
            throw (try? ControlCodec.decoder.decode(ControlError.self, from: body))
                ?? ControlError("daemon_error", message: "daemon answered \(status): \(String(decoding: body, as: UTF8.self))")
        }
        return try ControlCodec.decoder.decode(T.self, from: body)
    }

    func isRunning() async -> Bool {
        (try? await request(.GET, "/v1/status", timeout: 2)) != nil
    }

    /// Starts `hermes-runtime serve` in its own session (it outlives this command), logging to
    /// `STATE/logs/daemon.log`, and waits until its socket answers.
    func startDaemon(llamaServer: String?) async throws {
        try FileManager.default.createDirectory(at: paths.logsDirectory, withIntermediateDirectories: true)
        let logPath = paths.daemonLog.path
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot open \(logPath)") }
        defer { close(fd) }
        var args = ["serve", "--config", paths.configRoot.path]
        if let llamaServer { args += ["--llama-server", llamaServer] }
        var env = ProcessInfo.processInfo.environment
        env["HERMES_RUNTIME_STATE"] = paths.stateDirectory.path
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let child = try await Spawner.shared.spawn(path: exe, arguments: args, environment: env, outputFD: fd, detach: true)
        // A daemon that is alive but slow to answer (a debug build on a loaded box) is waited for; one
        // that exits is reported at once, so the limit only bounds a daemon that hangs.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if await isRunning() { return }
            if child.hasExited {
                let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").suffix(10).joined(separator: "\n") ?? ""
                throw CLIError("the daemon exited at start", hint: "see \(logPath)", cause: tail, code: "daemon_failed")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CLIError("the daemon did not answer on \(paths.controlSocket.path) within 60 s", hint: "see \(logPath)", code: "daemon_timeout")
    }
}
