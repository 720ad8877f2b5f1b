/**
 * Day numbers (days since 1970-01-01, UTC) and their textual forms, precomputed for the
 * generated window so that formatting a date is an array lookup.
 */
export function dayOf(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / 86400000);
}

export class Calendar {
  readonly first: number;
  readonly last: number;
  readonly iso: string[] = [];
  readonly dmy: string[] = [];
  readonly yyyymm: string[] = [];
  readonly mm: string[] = [];
  readonly year: Int16Array;
  readonly month: Int8Array;
  readonly doy: Int16Array;
  /** First day of the following month. */
  readonly nextMonth: Int32Array;

  constructor(fromYear: number, toYear: number) {
    this.first = dayOf(fromYear, 1, 1);
    this.last = dayOf(toYear, 12, 31);
    const n = this.last - this.first + 1;
    this.year = new Int16Array(n);
    this.month = new Int8Array(n);
    this.doy = new Int16Array(n);
    this.nextMonth = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const dt = new Date((this.first + i) * 86400000);
      const y = dt.getUTCFullYear();
      const m = dt.getUTCMonth() + 1;
      const d = dt.getUTCDate();
      const mm = String(m).padStart(2, '0');
      const dd = String(d).padStart(2, '0');
      this.iso.push(`${y}-${mm}-${dd}`);
      this.dmy.push(`${dd}${mm}${y}`);
      this.yyyymm.push(`${y}${mm}`);
      this.mm.push(mm);
      this.year[i] = y;
      this.month[i] = m;
      this.doy[i] = this.first + i - dayOf(y, 1, 1);
      this.nextMonth[i] = m === 12 ? dayOf(y + 1, 1, 1) : dayOf(y, m + 1, 1);
    }
  }

  isoOf(day: number): string {
    return this.iso[day - this.first] as string;
  }
  dmyOf(day: number): string {
    return this.dmy[day - this.first] as string;
  }
  yyyymmOf(day: number): string {
    return this.yyyymm[day - this.first] as string;
  }
  mmOf(day: number): string {
    return this.mm[day - this.first] as string;
  }
  yearOf(day: number): number {
    return this.year[day - this.first] as number;
  }
  doyOf(day: number): number {
    return this.doy[day - this.first] as number;
  }
  nextMonthOf(day: number): number {
    return this.nextMonth[day - this.first] as number;
  }
}
