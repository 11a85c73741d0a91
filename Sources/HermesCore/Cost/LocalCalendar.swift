import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The user's calendar (the process's time zone: `TZ`, else /etc/localtime), through libc: budgets
/// reset at local midnight and on the first of the month, and Foundation's Calendar goes through ICU.
///
/// Every answer asks for its local day and every request to a budgeted profile for the resets, so both
/// are kept: the day for the UTC minute it was computed in (no zone changes its offset inside a
/// minute), the resets for the local day (`mktime` re-reads the zone file each call when `TZ` is unset).
public enum LocalCalendar {
    struct Cache {
        var minute: Int64 = .min
        var day = LocalDay(year: 1970, month: 1, day: 1)!
        var resetsDay: LocalDay?
        var resets = BudgetResets(day: Date(timeIntervalSince1970: 0), month: Date(timeIntervalSince1970: 0))
    }

    static let cache = Mutex(Cache())

    /// The whole seconds of `date` since 1970, nil when out of `time_t`'s sane range.
    static func seconds(_ date: Date) -> Int64? {
        let s = date.timeIntervalSince1970.rounded(.down)
        guard s.isFinite, s > -1e15, s < 1e15 else { return nil }
        return Int64(s)
    }

    /// The local day `date` falls on.
    public static func day(of date: Date) -> LocalDay {
        guard let s = seconds(date) else { return LocalDay(year: 1970, month: 1, day: 1)! }
        let minute = s >= 0 ? s / 60 : (s - 59) / 60
        if let hit = cache.withLock({ $0.minute == minute ? $0.day : nil }) { return hit }
        let d = computeDay(s)
        cache.withLock {
            $0.minute = minute
            $0.day = d
        }
        return d
    }

    static func computeDay(_ s: Int64) -> LocalDay {
        var t = time_t(s)
        var parts = tm()
        localtime_r(&t, &parts)
        return LocalDay(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
            ?? LocalDay(year: 1970, month: 1, day: 1)!
    }

    /// When the day after `date` and the month after it begin, in local time.
    public static func resets(after date: Date) -> BudgetResets {
        let today = day(of: date)
        if let hit = cache.withLock({ $0.resetsDay == today ? $0.resets : nil }) { return hit }
        let r = computeResets(date)
        cache.withLock {
            $0.resetsDay = today
            $0.resets = r
        }
        return r
    }

    static func computeResets(_ date: Date) -> BudgetResets {
        var t = time_t(seconds(date) ?? 0)
        var parts = tm()
        localtime_r(&t, &parts)
        func midnight(_ p: tm) -> Date {
            var q = p
            q.tm_hour = 0
            q.tm_min = 0
            q.tm_sec = 0
            q.tm_isdst = -1  // let mktime find out across a DST change
            return Date(timeIntervalSince1970: TimeInterval(mktime(&q)))
        }
        var tomorrow = parts
        tomorrow.tm_mday += 1
        var nextMonth = parts
        nextMonth.tm_mday = 1
        nextMonth.tm_mon += 1
        return BudgetResets(day: midnight(tomorrow), month: midnight(nextMonth))
    }
}
