/** Friendly generated nicknames ("Brave Otter") for sessions that do not let students type one. */
import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'Brave', 'Calm', 'Clever', 'Cosy', 'Curious', 'Eager', 'Gentle', 'Happy', 'Jolly', 'Kind', 'Lively', 'Lucky',
  'Mighty', 'Nimble', 'Polite', 'Quick', 'Quiet', 'Sharp', 'Shiny', 'Speedy', 'Sunny', 'Swift', 'Tidy', 'Witty',
];
const ANIMALS = [
  'Otter', 'Panda', 'Falcon', 'Koala', 'Lynx', 'Heron', 'Badger', 'Beaver', 'Dolphin', 'Gecko', 'Hedgehog', 'Ibis',
  'Jaguar', 'Lemur', 'Marmot', 'Narwhal', 'Ocelot', 'Penguin', 'Puffin', 'Quokka', 'Raven', 'Seal', 'Tapir', 'Walrus',
];

export function friendlyNames(count: number): string[] {
  const names = new Set<string>();
  while (names.size < count) names.add(`${ADJECTIVES[randomInt(ADJECTIVES.length)]} ${ANIMALS[randomInt(ANIMALS.length)]}`);
  return [...names];
}
