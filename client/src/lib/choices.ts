/**
 * Choice identity: every choice has a letter, a shape and a colour, so nobody depends on
 * colour alone. Colours are the Okabe–Ito colour-blind-safe palette; `ink` is the text colour
 * that keeps AA contrast (≥ 4.5:1) on that background.
 */
export type ShapeName = 'triangle' | 'diamond' | 'circle' | 'square' | 'pentagon' | 'hexagon' | 'star' | 'plus';

export interface ChoiceStyle {
  letter: string;
  shape: ShapeName;
  colour: string;
  ink: string;
  name: string;
}

export const CHOICE_STYLES: readonly ChoiceStyle[] = [
  { letter: 'A', shape: 'triangle', colour: '#0072B2', ink: '#ffffff', name: 'blue triangle' },
  { letter: 'B', shape: 'diamond', colour: '#E69F00', ink: '#111111', name: 'orange diamond' },
  { letter: 'C', shape: 'circle', colour: '#009E73', ink: '#111111', name: 'green circle' },
  { letter: 'D', shape: 'square', colour: '#CC79A7', ink: '#111111', name: 'pink square' },
  { letter: 'E', shape: 'pentagon', colour: '#56B4E9', ink: '#111111', name: 'sky-blue pentagon' },
  { letter: 'F', shape: 'hexagon', colour: '#D55E00', ink: '#111111', name: 'vermilion hexagon' },
  { letter: 'G', shape: 'star', colour: '#F0E442', ink: '#111111', name: 'yellow star' },
  { letter: 'H', shape: 'plus', colour: '#1a1a1a', ink: '#ffffff', name: 'black cross' },
];

export function choiceStyle(index: number): ChoiceStyle {
  return CHOICE_STYLES[index % CHOICE_STYLES.length]!;
}

/** True/false reuse the first two styles, labelled instead of lettered. */
export const TRUE_FALSE = [
  { value: true, label: 'True', style: CHOICE_STYLES[0]! },
  { value: false, label: 'False', style: CHOICE_STYLES[1]! },
] as const;
