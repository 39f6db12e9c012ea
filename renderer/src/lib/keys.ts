/** Keyboard shortcuts apply only while the user is not typing into a field. */

/** True when the key event goes to a text field, a select or an editable element (or a button, for Space/Enter). */
export function isTyping(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (!el || !(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    // A range or checkbox takes arrows and Space itself.
    return !['button', 'submit', 'reset'].includes(type);
  }
  // A focused button acts on Space and Enter by itself.
  return (tag === 'BUTTON' || tag === 'A') && (e.key === ' ' || e.key === 'Enter');
}
