"""Data files of the engine (the prompt lexicon), loaded by path."""
