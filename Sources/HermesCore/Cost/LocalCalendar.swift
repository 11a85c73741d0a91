import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The user's calendar (the process's time zone: `TZ`, else /etc/localtime), through libc: budgets
/// reset at local midnight and on the first of the month, and Foundation's Calendar goes through ICU.
public enum LocalCalendar {
    /// The local day `date` falls on.
    public static func day(of date: Date) -> LocalDay {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        return LocalDay(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
            ?? LocalDay(year: 1970, month: 1, day: 1)!
    }

    /// When the day after `date` and the month after it begin, in local time.
    public static func resets(after date: Date) -> BudgetResets {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
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
