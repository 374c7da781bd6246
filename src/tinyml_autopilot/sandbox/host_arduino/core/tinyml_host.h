// What the host core offers the replay libraries: recorded readings and run events.
#ifndef TINYML_HOST_REPLAY_H
#define TINYML_HOST_REPLAY_H

// Copies the next recorded reading of `kind` (e.g. "colour", "imu") into values[0..n-1]. Returns false and
// ends the run ("END" event) when the recording is exhausted, like a board whose sensor is unplugged at the end.
bool tinyml_replay_next(const char *kind, float *values, int n);
// True while readings of `kind` remain.
bool tinyml_replay_available(const char *kind);
// Writes one line to the run's event log.
void tinyml_event(const char *text);
#endif
