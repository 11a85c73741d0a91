import Foundation
import HermesCore
import HermesSupervisor
import Logging
import ServiceLifecycle

/// Builds the routing front's services for the daemon (filled in when the front lands).
enum FrontWiring {
    static func services(config: HermesConfig, registry: SupervisorRegistry, paths: RuntimePaths, logger: Logger) throws -> [any Service] {
        []
    }
}
