import { useCallback, useState, useSyncExternalStore } from "react";

/** The current time, re-read every `intervalMs` while `active`: running things keep
 * counting without any data arriving. */
export function useNow(active: boolean, intervalMs = 1000): number {
  // The clock is an external store: read again the moment it becomes active, then on every
  // tick; while inactive it keeps the last time read.
  const [clock] = useState(createClock);
  const subscribe = useCallback(
    (onChange: () => void) => (active ? clock.tick(intervalMs, onChange) : stopNothing),
    [active, clock, intervalMs],
  );
  return useSyncExternalStore(subscribe, clock.read);
}

interface Clock {
  read: () => number;
  /** Re-read the time now and every `intervalMs`, calling `onChange` each time, until the
   * returned function is called. */
  tick: (intervalMs: number, onChange: () => void) => () => void;
}

function createClock(): Clock {
  let now = Date.now();
  return {
    read: () => now,
    tick: (intervalMs, onChange) => {
      const update = (): void => {
        now = Date.now();
        onChange();
      };
      update();
      const timer = setInterval(update, intervalMs);
      return () => clearInterval(timer);
    },
  };
}

function stopNothing(): void {}
