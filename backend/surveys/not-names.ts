/**
 * Capitalised words that name no one, for the name scrubber (scrub.ts): closed classes only
 * — the calendar, languages and nationalities, religions, titles and family words — so the
 * list does not grow with every product or place a friend might mention.
 */

const words = (text: string) => text.trim().split(/\s+/);

const CALENDAR = words(`
  monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays
  january february march april may june july august september october november december
  christmas xmas easter ramadan eid diwali hanukkah chanukah passover thanksgiving halloween lent advent pentecost
  holi navratri vesak nowruz kwanzaa
`);

const LANGUAGES_AND_PEOPLES = words(`
  english british scottish welsh irish american canadian mexican brazilian argentinian chilean colombian peruvian
  french german spanish italian portuguese dutch flemish belgian swiss austrian danish swedish norwegian finnish icelandic
  polish czech slovak hungarian romanian bulgarian serbian croatian bosnian slovenian greek turkish albanian
  russian ukrainian belarusian lithuanian latvian estonian georgian armenian
  arabic arab persian farsi kurdish hebrew israeli egyptian moroccan algerian tunisian lebanese syrian iraqi iranian
  chinese mandarin cantonese japanese korean vietnamese thai filipino tagalog indonesian malay malaysian burmese khmer
  hindi urdu bengali punjabi tamil telugu marathi gujarati kannada malayalam nepali sinhala indian pakistani
  swahili yoruba igbo hausa zulu xhosa amharic somali nigerian kenyan ghanaian ethiopian african
  european asian latin latino latina caribbean jamaican australian kiwi esperanto sign
`);

const RELIGIONS = words(`
  god christian christianity catholic protestant orthodox muslim islam islamic jewish judaism hindu hinduism
  buddhist buddhism sikh sikhism jain bible quran koran torah church
`);

/** Titles and family words: they stand before a name, or for a relative, and are not the name. */
export const TITLES = new Set(
  words(`
  mr mrs ms miss mx dr prof professor sir dame madam lady lord st mt jr sr rev fr
  mum mom mummy mommy dad daddy mother father grandma grandpa granny grandad grandmother grandfather nana nan gran papa mama
  aunt auntie aunty uncle cousin sis bro
`),
);

/** Capitalised words that are never someone's name here. */
export const NOT_NAMES = new Set([...CALENDAR, ...LANGUAGES_AND_PEOPLES, ...RELIGIONS, "ok", "okay", "internet", "tv"]);

/** Holidays of more than one word, whose parts would otherwise look like names ("Christmas Eve"). */
export const NOT_NAME_PHRASES =
  /\b(?:(?:Lunar|Chinese) )?New Year(?:['’]s(?: Eve| Day)?)?\b|\bChristmas (?:Eve|Day)\b|\bBoxing Day\b|\bGood Friday\b|\b(?:Valentine|Mother|Father|St\.? Patrick)['’]s Day\b|\b(?:Independence|Labou?r|Memorial) Day\b/gu;
