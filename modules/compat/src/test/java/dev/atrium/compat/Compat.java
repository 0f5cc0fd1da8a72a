package dev.atrium.compat;

/** What every client check relies on: the shipped demo tenant and its built-in local model. */
final class Compat {
  static final String API_KEY = "demo-key";
  static final String MODEL = "local";
  /** The local responder's honest answer when no real model is configured. */
  static final String NO_MODEL = "no language model is configured";

  private Compat() {}
}
