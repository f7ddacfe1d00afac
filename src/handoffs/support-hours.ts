/**
 * Support hours (`SUPPORT_HOURS`), e.g. `Mon-Fri 08:00-18:00 UTC` or
 * `Mon-Fri 09:00-17:30, Sat 10:00-14:00 Europe/Berlin`: day ranges with a time window each, in one
 * time zone (an IANA name or `UTC`; default UTC). Used to tell a user handed to a person outside
 * those hours when to expect a reply.
 */
export interface SupportHours {
  /** The setting as written, for messages. */
  spec: string;
  timeZone: string;
  windows: SupportWindow[];
}

export interface SupportWindow {
  /** 0 = Monday … 6 = Sunday. */
  days: number[];
  /** Minutes after local midnight; `end` may be 1440 (24:00). */
  start: number;
  end: number;
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
const SEGMENT = /^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/i;

/** Parses a SUPPORT_HOURS value; throws an Error saying what is wrong and how to write it. */
export function parseSupportHours(text: string): SupportHours {
  const spec = text.trim();
  const example = 'write it like "Mon-Fri 08:00-18:00 UTC" (several windows separated by commas)';
  let body = spec;
  let timeZone = "UTC";
  // Every window ends with a time ("18:00"); a last word without a colon is the time zone.
  const last = /\s(\S+)$/.exec(spec);
  if (last && !last[1]!.includes(":") && /^[A-Za-z]/.test(last[1]!)) {
    timeZone = last[1]!;
    body = spec.slice(0, last.index).trim();
  }
  if (!isTimeZone(timeZone)) {
    // A last word that is no time zone is only taken for a misspelt one when the rest reads as
    // windows; "9-5 weekdays" is a value in another format altogether.
    if (!body.split(/[,;]/).every((p) => SEGMENT.test(p.trim()))) throw new Error(`cannot read "${spec}"; ${example}`);
    throw new Error(`unknown time zone "${timeZone}"; use an IANA name such as Europe/Berlin, or UTC`);
  }
  const windows: SupportWindow[] = [];
  for (const part of body.split(/[,;]/).map((p) => p.trim())) {
    const m = SEGMENT.exec(part);
    if (!m) throw new Error(`cannot read "${part}"; ${example}`);
    const first = dayIndex(m[1]!);
    const last = m[2] === undefined ? first : dayIndex(m[2]);
    if (first === undefined || last === undefined) throw new Error(`unknown day in "${part}"; use Mon, Tue, Wed, Thu, Fri, Sat, Sun`);
    const start = minutes(Number(m[3]), Number(m[4]));
    const end = minutes(Number(m[5]), Number(m[6]));
    if (start === undefined || end === undefined) throw new Error(`bad time in "${part}"; use 24-hour HH:MM, 00:00 to 24:00`);
    if (end <= start) throw new Error(`in "${part}" the window ends before it starts; split an overnight window in two`);
    const days: number[] = [];
    for (let d = first; ; d = (d + 1) % 7) {
      days.push(d);
      if (d === last) break;
    }
    windows.push({ days, start, end });
  }
  return { spec, timeZone, windows };
}

/** Whether `at` falls inside the support hours. */
export function isWithinSupportHours(hours: SupportHours, at: Date): boolean {
  const { day, minute } = localTime(hours.timeZone, at);
  return hours.windows.some((w) => w.days.includes(day) && minute >= w.start && minute < w.end);
}

/**
 * When support next opens after `at`, in words: "today at 08:00 UTC", "tomorrow at 08:00 UTC",
 * "on Monday at 08:00 UTC". Undefined when there are no windows.
 */
export function describeNextOpening(hours: SupportHours, at: Date): string | undefined {
  const { day, minute } = localTime(hours.timeZone, at);
  for (let offset = 0; offset <= 7; offset++) {
    const weekday = (day + offset) % 7;
    const starts = hours.windows
      .filter((w) => w.days.includes(weekday))
      .map((w) => w.start)
      .filter((s) => offset > 0 || s > minute)
      .sort((a, b) => a - b);
    const start = starts[0];
    if (start === undefined) continue;
    const time = `${String(Math.floor(start / 60)).padStart(2, "0")}:${String(start % 60).padStart(2, "0")} ${hours.timeZone}`;
    const when = offset === 0 ? "today" : offset === 1 ? "tomorrow" : `on ${DAY_NAMES[weekday]}`;
    return `${when} at ${time}`;
  }
  return undefined;
}

function localTime(timeZone: string, at: Date): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const day = dayIndex(get("weekday")) ?? 0;
  return { day, minute: Number(get("hour")) * 60 + Number(get("minute")) };
}

function dayIndex(name: string): number | undefined {
  const i = DAYS.indexOf(name.toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
  return i < 0 ? undefined : i;
}

function minutes(h: number, m: number): number | undefined {
  if (m > 59 || h > 24 || (h === 24 && m !== 0)) return undefined;
  return h * 60 + m;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
