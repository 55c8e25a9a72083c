"""Answer keys for the exports others published (shared/real-exports), and their tests."""
