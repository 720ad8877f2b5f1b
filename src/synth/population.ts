/**
 * The generated population: France's age and sex structure and its mortality, one file that a
 * reviewer can check against the sources it names. People are drawn from the pyramid on
 * 1 January of the first year, then age through the window; each year of life a person dies with
 * the life table's probability for their age and sex.
 *
 * Sources (names only; figures rounded, thousands of people and deaths per 100,000):
 * - INSEE, Estimations de population: pyramide des âges au 1er janvier 2020, France (hors Mayotte
 *   before 2014 series), by five-year age group and sex: about 67.1 million people.
 * - INSEE, Tables de mortalité: table du moment 2017-2019, France, quotients de mortalité q(x) by
 *   sex, grouped here by five-year age group (the quotient at the middle of the group).
 * - INSEE, Bilan démographique: about 613,000 deaths in 2019 and 640,000 a year on average over
 *   2019-2023, for 67 to 68 million people: 0.0091 to 0.0099 deaths per person-year; the volume
 *   model (src/synth/volumes.ts) takes 0.0095.
 *
 * @example
 *   const { age, sex } = drawPerson(rng);    // age in completed years on 1 January, sex 1 or 2
 *   deathProbability(age, sex);              // this year's probability of dying
 *   expectedDeaths(1).perPersonYear;         // ≈ 0.0095 (0.0101 over 5 years: people age)
 */
import type { Rng } from './prng.ts';
import { Weighted } from './prng.ts';

/** Five-year age groups 0-4 … 95-99, then 100 and over (drawn as 100-104). */
export const AGE_GROUP_YEARS = 5;

/** People on 1 January 2020 (thousands), men then women, by five-year age group (INSEE). */
export const PYRAMID_2020: { readonly men: readonly number[]; readonly women: readonly number[] } = {
  men: [1_850, 2_060, 2_150, 2_110, 1_870, 1_790, 1_960, 2_070, 2_000, 2_200, 2_150, 2_090, 1_930, 1_850, 1_620, 990, 770, 470, 170, 35, 4],
  women: [1_770, 1_970, 2_050, 2_010, 1_830, 1_850, 2_060, 2_170, 2_060, 2_250, 2_230, 2_220, 2_110, 2_060, 1_890, 1_280, 1_140, 860, 450, 140, 21],
};

/**
 * Probability of dying within the year (per 100,000), by five-year age group and sex, from the
 * 2017-2019 life table (INSEE); the first group is split: age 0 (infant mortality) and 1-4.
 */
export const LIFE_TABLE_2017_2019: { readonly infant: { readonly men: number; readonly women: number }; readonly men: readonly number[]; readonly women: readonly number[] } = {
  infant: { men: 390, women: 330 },
  men: [20, 10, 12, 35, 65, 75, 85, 115, 170, 270, 430, 680, 1_000, 1_400, 2_100, 3_300, 6_000, 11_500, 21_000, 35_000, 48_000],
  women: [15, 8, 9, 17, 22, 27, 37, 60, 95, 160, 240, 350, 500, 700, 1_100, 1_800, 3_600, 7_800, 16_000, 29_000, 43_000],
};

const GROUPS = PYRAMID_2020.men.length;
const CELLS: readonly { readonly group: number; readonly sex: 1 | 2 }[] = [
  ...PYRAMID_2020.men.map((_, group) => ({ group, sex: 1 as const })),
  ...PYRAMID_2020.women.map((_, group) => ({ group, sex: 2 as const })),
];
const CELL_DRAW = new Weighted(CELLS, [...PYRAMID_2020.men, ...PYRAMID_2020.women]);

/** A person of the pyramid: age in completed years on 1 January of the first year, and sex (1 man, 2 woman). */
export function drawPerson(rng: Rng): { age: number; sex: 1 | 2 } {
  const c = CELL_DRAW.draw(rng);
  return { age: c.group * AGE_GROUP_YEARS + rng.int(0, AGE_GROUP_YEARS - 1), sex: c.sex };
}

/** The probability that a person aged `age` (completed years on 1 January) dies within the year. */
export function deathProbability(age: number, sex: number): number {
  const t = LIFE_TABLE_2017_2019;
  if (age <= 0) return (sex === 1 ? t.infant.men : t.infant.women) / 100_000;
  const g = Math.min(GROUPS - 1, Math.floor(age / AGE_GROUP_YEARS));
  return ((sex === 1 ? t.men[g] : t.women[g]) ?? 0) / 100_000;
}

/**
 * Expected deaths over a window of `years` years for a population drawn from the pyramid and
 * ageing through the window with no births or migrations (what the generator does): the exact
 * expectation of the generator's draws, each age of each group equally likely. `perPerson`: the
 * share of the people drawn who die in the window; `perPersonYear`: deaths per person-year lived.
 */
export function expectedDeaths(years: number): { perPerson: number; perPersonYear: number } {
  let deaths = 0;
  let personYears = 0;
  let people = 0;
  for (const sex of [1, 2] as const) {
    const groups = sex === 1 ? PYRAMID_2020.men : PYRAMID_2020.women;
    groups.forEach((n, g) => {
      people += n;
      for (let k = 0; k < AGE_GROUP_YEARS; k++) {
        let alive = n / AGE_GROUP_YEARS;
        for (let y = 0; y < years; y++) {
          const q = deathProbability(g * AGE_GROUP_YEARS + k + y, sex);
          // A person dying in the year lived half of it on average.
          personYears += alive * (1 - q / 2);
          deaths += alive * q;
          alive *= 1 - q;
        }
      }
    });
  }
  return { perPerson: deaths / people, perPersonYear: deaths / personYears };
}
