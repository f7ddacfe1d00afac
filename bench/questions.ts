/** The benchmarks' load: one question for each worker and a refund, asked in turn. */
export const QUESTIONS: readonly string[] = [
  "How do I reset my password?",
  "Why was I charged twice on my last invoice?",
  "What are the API rate limits?",
  "Can I get a refund for last month?",
  "Which plans do you offer?",
];
