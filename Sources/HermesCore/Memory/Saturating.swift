/// Arithmetic on sizes that come from files nobody here wrote (GGUF headers, sysfs, configs): it
/// saturates instead of trapping, so a hostile figure gives a huge estimate (and a refusal), never a
/// crash. 2^64 - 1 bytes is "does not fit" everywhere.
extension UInt64 {
    /// `a + b`, or `UInt64.max` when it overflows.
    @inlinable static func saturatingSum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? .max : r
    }

    /// `a * b`, or `UInt64.max` when it overflows.
    @inlinable static func saturatingProduct(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? .max : r
    }

    /// `a - b`, or 0 when `b` is larger.
    @inlinable static func saturatingDifference(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a > b ? a - b : 0
    }

    /// A Double rounded toward zero and clamped into 0...UInt64.max; NaN is 0. `UInt64(d)` traps on
    /// a negative, NaN, infinite or too-large value.
    @inlinable init(clampingDouble d: Double) {
        if d.isNaN || d <= 0 {
            self = 0
        } else if d >= 18_446_744_073_709_551_615.0 {
            self = .max
        } else {
            self = UInt64(d)
        }
    }
}

extension Int {
    /// A Double rounded toward zero and clamped into Int.min...Int.max; NaN is 0. `Int(d)` traps on a
    /// NaN, infinite or too-large value.
    @inlinable init(clampingDouble d: Double) {
        if d.isNaN {
            self = 0
        } else if d >= 9_223_372_036_854_775_807.0 {
            self = .max
        } else if d <= -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int(d)
        }
    }
}
