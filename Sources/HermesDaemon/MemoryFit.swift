import Foundation
import HermesCore
import HermesSupervisor

/// The pre-flight memory check: GGUF size + KV cache estimate against the pool the model will use.
enum MemoryFit {
    static func check() -> FitCheck? { nil }
}
